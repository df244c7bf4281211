"""Print a service's request limits as the Markdown its README shows (issue 10).

`python -m stc_common.tools.limits_doc licensing` lists the defaults, every override of the
service's table (`stc_<service>/api/limits.py`), the worst-case request sizes they give and
the gRPC max receive message length sized from them.
"""

from __future__ import annotations

import importlib
import sys

from stc_common.grpc.limits import max_receive_length, worst_cases


def render(service: str) -> str:
    """The Markdown limits section of one service."""
    limits = importlib.import_module(f"stc_{service}.api.limits").LIMITS
    module = importlib.import_module(f"stc.{service}.v1.{service}_service_pb2")
    svc = next(iter(module.DESCRIPTOR.services_by_name.values()))
    fields: set[str] = set()
    from stc_common.grpc.limits import _collect_fields

    for m in svc.methods:
        _collect_fields(m.input_type, fields, set())
    lines = [
        f"Defaults: {limits.max_string} characters a string, {limits.max_items} entries a "
        f"repeated field or map, {limits.max_bytes} bytes a bytes field; no NUL or other "
        "control character (free-form text: tab, newline and CR allowed); enum values known "
        "to the schema; timestamps and dates in range. Overrides for the fields this "
        "service accepts:",
        "",
        "| field | limit | free-form text |",
        "|---|---|---|",
    ]
    for name in sorted(fields & (set(limits.strings) | set(limits.items))):
        parts = []
        if name in limits.strings:
            parts.append(f"{limits.strings[name]} characters")
        if name in limits.items:
            parts.append(f"{limits.items[name]} entries")
        free = "yes" if name in limits.free_text else ""
        lines.append(f"| `{name.removeprefix('stc.')}` | {', '.join(parts)} | {free} |")
    sizes = worst_cases(svc, limits)
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
    lines += [
        "",
        "Worst-case encoded request (4 bytes a character): "
        + ", ".join(f"{k} {v:,} B" for k, v in top)
        + f"; gRPC max receive message length {max_receive_length([svc], limits):,} B.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a documentation helper
    print(render(sys.argv[1]))
