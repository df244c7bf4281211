"""Wait until a Kafka broker answers a metadata request (an open port is not readiness)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient


async def wait_kafka(bootstrap: str, timeout: float) -> float:
    """Return the seconds it took until list_topics succeeded; raise TimeoutError."""
    start = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - start < timeout:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.list_topics()
            return time.monotonic() - start
        except Exception as exc:  # not up yet: any connection or metadata error
            last = exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout}s: {last}")


def main() -> None:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused connections while it boots
    try:
        took = asyncio.run(wait_kafka(a.bootstrap, a.timeout))
    except TimeoutError as exc:
        print(f"[stack] {exc}", file=sys.stderr)
        sys.exit(1)
    print(
        f"[stack] Kafka ready at {a.bootstrap} (metadata round trip after {took:.1f}s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
