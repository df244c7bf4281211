"""`python -m stc_licensing serve | migrate`."""

from __future__ import annotations

import asyncio
import sys

from stc_common.runtime import run_migrations

from stc_licensing.config import LicensingSettings
from stc_licensing.main import build_spec, main


def cli(argv: list[str]) -> int:
    """Dispatch serve | migrate."""
    cmd = argv[1] if len(argv) > 1 else "serve"
    if cmd == "serve":
        main()
        return 0
    if cmd == "migrate":
        settings = LicensingSettings()
        applied = asyncio.run(run_migrations(settings, build_spec(settings)))
        print("\n".join(applied) or "nothing to apply")
        return 0
    print("usage: python -m stc_licensing serve|migrate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv))
