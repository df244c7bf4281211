"""Run one service's outbox relay as its own process:
python -m stc_common.tools.relay --service licensing --dsn postgresql://... \
    --bootstrap 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from stc_common.logging import configure_logging
from stc_common.outbox import OutboxRelay


async def _main(a: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    relay = OutboxRelay(
        dsn=a.dsn,
        bootstrap=a.bootstrap,
        service=a.service,
        batch_size=a.batch_size,
        poll_interval=a.poll_interval,
    )
    await relay.run(stop)


def main() -> None:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--service", required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--poll-interval", type=float, default=0.2)
    a = p.parse_args()
    configure_logging(f"{a.service}-relay")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(a))


if __name__ == "__main__":
    main()
