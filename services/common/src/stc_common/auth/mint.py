"""Mint a development token for the local stack.

python -m stc_common.auth.mint --role officer --authority MOFCOM
python -m stc_common.auth.mint --role importer --licence LIC-… --party P-…
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from stc_common.auth.jwt import Authority, Role, mint_token
from stc_common.uscc import UsccError


def main(argv: list[str] | None = None) -> int:
    """Print a signed token; exit 2 with a readable message on bad input."""
    p = argparse.ArgumentParser(description="Mint a JWT signed with the development key.")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--uscc", help="exporters: the enterprise's USCC")
    p.add_argument("--authority", choices=[a.value for a in Authority], help="officers")
    p.add_argument("--licence", help="importers: the licence id they act on")
    p.add_argument("--party", help="importers: their party id on that licence")
    p.add_argument("--subject")
    p.add_argument("--hours", type=float, default=8)
    a = p.parse_args(argv)
    if a.role == "exporter" and not a.uscc:
        p.error("an exporter token needs --uscc")
    if a.role == "officer" and not a.authority:
        p.error("an officer token needs --authority")
    if a.role == "importer" and not (a.licence and a.party):
        p.error("an importer token needs --licence and --party")
    try:
        print(
            mint_token(
                role=a.role,
                uscc=a.uscc,
                authority=a.authority,
                licence=a.licence,
                party=a.party,
                subject=a.subject,
                ttl=dt.timedelta(hours=a.hours),
            )
        )
    except UsccError as exc:
        print(f"error: --uscc {a.uscc}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
