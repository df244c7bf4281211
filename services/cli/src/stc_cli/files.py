"""Reading YAML/JSON files into protobuf messages, with errors that name the bad key."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from google.type import date_pb2

from stc_cli.core import CliInputError


def load_data(path: Path) -> Any:
    """The parsed content of a .yaml/.yml/.json file (CliInputError on anything unreadable)."""
    if not path.exists():
        raise CliInputError(f"{path}: no such file")
    if path.is_dir():
        raise CliInputError(f"{path}: is a directory, expected a .yaml or .json file")
    text = path.read_text("utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CliInputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", exc)
        raise CliInputError(f"{path}: not valid YAML{where}: {problem}") from None
    raise CliInputError(f"{path}: unknown file type {suffix!r}; use .yaml, .yml or .json")


def _plain(value: Any) -> Any:
    """YAML dates become google.type.Date dicts; everything else as is (recursively)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return {"year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_message(data: Any, message, source: str = "input"):
    """Fill `message` from a dict in proto JSON form; CliInputError naming the bad key."""
    if not isinstance(data, dict):
        raise CliInputError(
            f"{source}: expected a mapping of {message.DESCRIPTOR.name} fields, "
            f"got {type(data).__name__}"
        )
    try:
        json_format.ParseDict(_plain(data), message)
    except json_format.ParseError as exc:
        raise CliInputError(f"{source}: {exc}") from None
    return message


def load_message(path: Path, message, wrapper_key: str | None = None):
    """Read a file into `message`; a top-level `wrapper_key:` mapping is unwrapped."""
    data = load_data(path)
    if wrapper_key and isinstance(data, dict) and set(data) == {wrapper_key}:
        data = data[wrapper_key]
    return parse_message(data, message, source=str(path))


def parse_date(text: str, option: str) -> date_pb2.Date:
    """YYYY-MM-DD, 'today', 'today-N' / 'today+N' or '+N' (days) as a google.type.Date."""
    text = text.strip().lower()
    try:
        if text.startswith("today") or text.startswith("+"):
            offset = text.removeprefix("today").rstrip("d")
            day = dt.date.today() + dt.timedelta(days=int(offset) if offset else 0)
        else:
            day = dt.date.fromisoformat(text)
    except ValueError:
        raise CliInputError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD, today, today-N, today+N or +N)"
        ) from None
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)
