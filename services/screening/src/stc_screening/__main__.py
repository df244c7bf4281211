"""`python -m stc_screening serve | migrate | import [--all | --list NAME] [--data-dir DIR]`."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from stc_common.db.pool import create_pool
from stc_common.runtime import run_migrations

from stc_screening.config import SOURCE, ScreeningSettings
from stc_screening.domain.matching import Thresholds
from stc_screening.main import build_spec, main
from stc_screening.policy_files import LIST_SOURCES
from stc_screening.service.lists import import_lists
from stc_screening.storage.uow import uow_factory


async def run_import(settings: ScreeningSettings, names: list[str], data_dir: Path) -> None:
    """Import the lists and print a summary."""
    await run_migrations(settings, build_spec(settings))
    pool = await create_pool(settings.database_url)
    t0 = time.perf_counter()
    try:
        summary = await import_lists(uow_factory(pool, SOURCE), data_dir=data_dir, names=names,
                                     publish_initial=settings.publish_initial_load,
                                     thresholds=Thresholds(settings.potential_threshold,
                                                           settings.match_threshold))
    finally:
        await pool.close()
    print(f"{'list':6} {'entries':>8} {'added':>7} {'updated':>8} {'removed':>8} "
          f"{'events':>7} {'seconds':>8}  per list kind")
    for s in summary:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(s.by_kind.items()))
        print(f"{s.list_name:6} {s.entries:8d} {s.added:7d} {s.updated:8d} {s.removed:8d} "
              f"{s.published:7d} {s.seconds:8.2f}  {kinds}")
    print(f"total {sum(s.entries for s in summary)} entries in {time.perf_counter() - t0:.2f}s")


def cli() -> None:
    """Dispatch the command."""
    parser = argparse.ArgumentParser(prog="stc_screening")
    parser.add_argument("command", choices=["serve", "migrate", "import"])
    parser.add_argument("--all", action="store_true", help="import every shipped list")
    parser.add_argument("--list", action="append", choices=list(LIST_SOURCES),
                        help="import one list (repeatable)")
    parser.add_argument("--data-dir", help="folder laid out like shared/data")
    args = parser.parse_args()
    if args.command == "serve":
        main()
        return
    settings = ScreeningSettings()
    if args.command == "migrate":
        applied = asyncio.run(run_migrations(settings, build_spec(settings)))
        print(f"migrations applied: {len(applied)}")
        return
    names = list(LIST_SOURCES) if args.all or not args.list else args.list
    data_dir = Path(args.data_dir) if args.data_dir else settings.data_path
    asyncio.run(run_import(settings, names, data_dir))


if __name__ == "__main__":
    cli()
