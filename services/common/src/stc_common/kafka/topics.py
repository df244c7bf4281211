"""The declared topics of the platform (docs/architecture.md) and their creation through the admin client.

`python -m stc_common.kafka.topics ensure --bootstrap HOST:PORT` creates any that are missing;
topics that exist are left as they are.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True)
class Topic:
    """A topic with its partitioning and cleanup policy; `owner` is the only publisher."""

    name: str
    owner: str
    key: str
    partitions: int = 3
    compacted: bool = False
    config: dict[str, str] = field(default_factory=dict)

    @property
    def dlq(self) -> str:
        """Name of this topic's dead-letter topic."""
        return f"{self.name}.dlq"


APPLICATION = Topic("stc.licensing.application.v1", "licensing", "application id")
LICENCE = Topic("stc.licensing.licence.v1", "licensing", "licence id")
OPERATOR = Topic("stc.licensing.operator.v1", "licensing", "USCC")
SCREENING_RESULT = Topic("stc.screening.result.v1", "screening", "subject id")
SCREENING_LIST = Topic("stc.screening.list.v1", "screening", "entry id")
SCREENING_CONSULTATION = Topic("stc.screening.consultation.v1", "screening", "consultation id")
ENDUSER_CHANGE = Topic("stc.enduser.change.v1", "enduser", "licence id")
CREDIT_RECORD = Topic("stc.credit.record.v1", "credit", "USCC")
CREDIT_STANDING = Topic("stc.credit.standing.v1", "credit", "USCC", compacted=True)
CREDIT_PUBLICATION = Topic("stc.credit.publication.v1", "credit", "USCC")

TOPICS: tuple[Topic, ...] = (
    APPLICATION,
    LICENCE,
    OPERATOR,
    SCREENING_RESULT,
    SCREENING_LIST,
    SCREENING_CONSULTATION,
    ENDUSER_CHANGE,
    CREDIT_RECORD,
    CREDIT_STANDING,
    CREDIT_PUBLICATION,
)


def new_topics(
    topics: tuple[Topic, ...] | list[Topic] = TOPICS,
    with_dlq: bool = True,
    *,
    min_partitions: int = 1,
    replication: int = 1,
) -> list[NewTopic]:
    """Admin-client topic specs, with a DLQ beside each topic; at least `min_partitions` each
    (a deployment sizes them for its replica counts) and `replication` copies."""
    specs = []
    for t in topics:
        cfg = dict(t.config)
        if t.compacted:
            cfg.setdefault("cleanup.policy", "compact")
            cfg.setdefault("min.cleanable.dirty.ratio", "0.1")
            cfg.setdefault("segment.ms", "600000")
        specs.append(NewTopic(t.name, max(t.partitions, min_partitions), replication,
                              topic_configs=cfg))
        if with_dlq:
            specs.append(NewTopic(t.dlq, 1, replication))
    return specs


async def ensure_topics(bootstrap: str, specs: list[NewTopic] | None = None) -> list[str]:
    """Create the missing topics; return the names created."""
    specs = new_topics() if specs is None else specs
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:  # one by one: a concurrent creator makes only its own call fail
            try:
                await admin.create_topics([spec])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


def main() -> None:
    """Command line: ensure the platform's topics exist."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["ensure", "list"])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--partitions", type=int, default=1,
                        help="at least this many partitions per topic (the most replicas)")
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args()
    if args.command == "list":
        for t in TOPICS:
            print(
                f"{t.name:32} key={t.key:15} partitions={t.partitions} "
                f"{'compacted' if t.compacted else ''}"
            )
        return
    specs = new_topics(min_partitions=args.partitions, replication=args.replication_factor)
    created = asyncio.run(ensure_topics(args.bootstrap, specs))
    print(f"topics: {len(created)} created, {len(specs) - len(created)} already there")


if __name__ == "__main__":
    main()
