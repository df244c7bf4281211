"""Reading the licensing policy files (the I/O the pure domain/policy.py leaves out): the
policy versions shipped in `stc_licensing/policy/` (`policy-<version>.yaml`) and the UNSC
arms-embargo table (Art. 13(2) international obligations) from its CSV, by the path it is
handed or the copy shipped with the package."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml

from stc_licensing.domain import extraterritorial as et
from stc_licensing.domain.errors import PolicyError
from stc_licensing.domain.policy import ArmsEmbargo, Policy, policy_from_dict, with_embargoes


def load_unsc_arms_embargoes(path: str | Path) -> tuple[ArmsEmbargo, ...]:
    """Read the UNSC arms-embargo CSV (columns country, name, scope, resolution, since;
    extra columns are ignored so newer versions of the file load)."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"country", "scope"} - set(reader.fieldnames or ())
        if missing:
            raise PolicyError(f"{path}: missing columns {sorted(missing)}")
        for n, row in enumerate(reader, start=2):
            country = (row.get("country") or "").strip().upper()
            if len(country) != 2:
                raise PolicyError(f"{path}:{n}: bad country code {country!r}")
            since = (row.get("since") or "").strip()
            try:
                since_date = dt.date.fromisoformat(since) if since else None
            except ValueError as exc:
                raise PolicyError(f"{path}:{n}: bad date {since!r}") from exc
            out.append(ArmsEmbargo(
                country=country,
                name=(row.get("name") or "").strip(),
                scope=(row.get("scope") or "").strip(),
                resolution=(row.get("resolution") or "").strip(),
                since=since_date,
            ))
    return tuple(out)


def load_policy(path: str | Path, embargoes_path: str | Path | None = None) -> Policy:
    """Load one policy YAML (or JSON) file; with `embargoes_path`, its UNSC embargoes come
    from that CSV instead of any listed inline."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PolicyError(f"{path}: not a mapping")
    policy = policy_from_dict(data, str(path))
    if embargoes_path is not None:
        policy = with_embargoes(policy, load_unsc_arms_embargoes(embargoes_path))
    return policy


def bundled_policy_paths() -> tuple[Path, ...]:
    """The policy files shipped in the `stc_licensing.policy` package, sorted."""
    root = resources.files("stc_licensing.policy")
    return tuple(sorted(Path(str(p)) for p in root.iterdir()
                        if p.name.startswith("policy-") and p.name.endswith(".yaml")))


def bundled_embargoes_path() -> Path:
    """The UNSC arms-embargo CSV shipped with the package (the default of the running
    service; `STC_ARMS_EMBARGOES_PATH` replaces it)."""
    return Path(str(resources.files("stc_licensing.policy") / "unsc_arms_embargoes.csv"))


def load_bundled_policies(embargoes_path: str | Path | None = None) -> tuple[Policy, ...]:
    """Every policy shipped with the package (embargoes from `embargoes_path` when given)."""
    return tuple(load_policy(p, embargoes_path) for p in bundled_policy_paths())


def extraterritorial_rules(path: str | Path | None = None) -> tuple[et.DeMinimisRule, ...]:
    """The de minimis rules (ECL Arts. 45, 44) of `path`, or the ones shipped with the package
    (`stc_licensing/policy/extraterritorial.yaml`); ValueError on a broken file."""
    text = Path(path).read_text("utf-8") if path else \
        resources.files("stc_licensing").joinpath("policy/extraterritorial.yaml").read_text("utf-8")
    return et.parse_rules(yaml.safe_load(text))
