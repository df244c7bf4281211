"""`python -m stc_enduser serve | migrate`."""

from __future__ import annotations

import argparse
import asyncio

from stc_common.runtime import run_migrations

from stc_enduser.config import EndUserSettings
from stc_enduser.main import build_spec, main


def cli() -> None:
    """Dispatch the command."""
    parser = argparse.ArgumentParser(prog="stc_enduser")
    parser.add_argument("command", choices=["serve", "migrate"])
    args = parser.parse_args()
    if args.command == "serve":
        main()
    else:
        settings = EndUserSettings()
        applied = asyncio.run(run_migrations(settings, build_spec(settings)))
        print(f"migrations applied: {len(applied)}")


if __name__ == "__main__":
    cli()
