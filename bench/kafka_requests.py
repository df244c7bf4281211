"""Kafka requests per second by type and by client, counted from the broker's request log.

Start the broker with its request logger at debug (the test stack passes `STC_KAFKA_HEAP`
through to the JVM's command line):

    STC_KAFKA_HEAP="-Xms256m -Xmx768m -Dorg.slf4j.simpleLogger.log.kafka.request.logger=debug" \
        make test ...

then, while the platform runs (e.g. during a step of `bench/load.py`):

    .venv/bin/python bench/kafka_requests.py .state/test/kafka/kafka.log --seconds 20

It reads what the broker logs during the next `--seconds` (one "Completed request" line per
request) and prints requests per second by API (Fetch, Produce, OffsetCommit, Heartbeat,
Metadata …) and by client id × API. The logging itself costs the broker CPU: measure CPU in
another run, without it.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import time
from pathlib import Path

LINE = re.compile(r"Completed request:(\{.*\})\s*$")


def count(text: str) -> tuple[collections.Counter, collections.Counter]:
    """(requests by API name, requests by (client id, API name)) in `text`."""
    by_api: collections.Counter = collections.Counter()
    by_client: collections.Counter = collections.Counter()
    for line in text.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        try:
            header = json.loads(m.group(1))["requestHeader"]
        except (ValueError, KeyError):
            continue
        api = header.get("requestApiKeyName", str(header.get("requestApiKey")))
        client = header.get("clientId") or "?"
        # one row per kind of client, not per instance: test-generated suffixes vary
        client = re.sub(r"-[0-9a-f]{8,}$", "", client)
        by_api[api] += 1
        by_client[(client, api)] += 1
    return by_api, by_client


def main() -> None:
    """Count the requests the broker logs during the next `--seconds`."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", type=Path)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    with a.log.open("rb") as f:
        f.seek(0, 2)
        time.sleep(a.seconds)
        text = f.read().decode("utf-8", "replace")
    by_api, by_client = count(text)
    total = sum(by_api.values())
    print(f"{total / a.seconds:.1f} requests/s over {a.seconds:g} s")
    print("| API | requests/s |\n|---|---|")
    for api, n in by_api.most_common():
        print(f"| {api} | {n / a.seconds:.2f} |")
    print("\n| client id | API | requests/s |\n|---|---|---|")
    for (client, api), n in sorted(by_client.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"| {client} | {api} | {n / a.seconds:.2f} |")


if __name__ == "__main__":
    main()
