"""Readable rendering of platform messages: enum names, dates, money, tables."""

from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text

from stc_cli.core import CliInputError

LEVEL_STYLE = {
    "CLEAR": "green",
    "CAUTION": "yellow",
    "CONCERN": "red",
    "PROHIBITIVE": "bold red",
    "GRANT": "green",
    "GRANT_WITH_CONDITIONS": "yellow",
    "REFER": "yellow",
    "DENY": "bold red",
    "APPROVED": "green",
    "APPROVED_WITH_CONDITIONS": "green",
    "DENIED": "red",
    "WITHDRAWN": "dim",
    "ACTIVE": "green",
    "ON_HOLD": "yellow",
    "SUSPENDED": "red",
    "REVOKED": "bold red",
    "GOOD": "green",
    "WARNED": "yellow",
    "PENALISED": "red",
    "BANNED": "bold red",
}


def short(enum_type, value: int, prefix: str) -> str:
    """`APPLICATION_STATE_UNDER_REVIEW` → `UNDER_REVIEW` (unknown numbers as `#n`)."""
    try:
        name = enum_type.Name(value)
    except ValueError:
        return f"#{value}"
    return name.removeprefix(prefix) if name != f"{prefix}UNSPECIFIED" else "-"


def styled(text: str) -> Text:
    """A word in the colour that says good / careful / bad."""
    return Text(text, style=LEVEL_STYLE.get(text, ""))


def enum_value(enum_type, prefix: str, text: str, option: str) -> int:
    """Parse `approved`, `approved-with-conditions` or the full enum name; CliInputError else."""
    key = text.strip().upper().replace("-", "_").replace(" ", "_")
    for candidate in (key, prefix + key):
        if candidate in enum_type.keys() and not candidate.endswith("_UNSPECIFIED"):
            return enum_type.Value(candidate)
    choices = [
        n.removeprefix(prefix).lower().replace("_", "-")
        for n in enum_type.keys()
        if not n.endswith("_UNSPECIFIED")
    ]
    raise CliInputError(f"{option}: {text!r} is not one of {', '.join(choices)}")


def date(d) -> str:
    """google.type.Date as YYYY-MM-DD ('-' when unset)."""
    if d is None or not d.year:
        return "-"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def ts(t) -> str:
    """Timestamp as local-ish ISO minutes in UTC ('-' when unset)."""
    if t is None or not (t.seconds or t.nanos):
        return "-"
    return t.ToDatetime(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def money(m) -> str:
    """Money in major units with its currency."""
    if m is None or not m.currency_code:
        return "-"
    return f"{m.amount_minor / 100:,.2f} {m.currency_code}"


def fen(amount: int) -> str:
    """Integer fen as yuan."""
    return f"¥{amount / 100:,.2f}"


def grid(*names: str, ids: tuple[str, ...] = (), **kw) -> Table:
    """A table whose id columns never wrap (they are copied into the next command); the
    others fold (Chinese text has no spaces to wrap at)."""
    t = Table(**kw)
    for name in names:
        if name in ids:
            t.add_column(name, no_wrap=True, min_width=36)
        else:
            t.add_column(name, overflow="fold")
    return t


def kv_table(title: str, rows: list[tuple[str, object]]) -> Table:
    """A two-column key/value table."""
    t = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for k, v in rows:
        t.add_row(k, v if isinstance(v, Text) else str(v))
    return t
