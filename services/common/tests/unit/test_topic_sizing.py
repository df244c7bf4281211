"""Topic specs sized for a deployment's replica counts (`topics ensure --partitions N`)."""

from stc_common.kafka.topics import TOPICS, new_topics


def test_partitions_are_raised_to_the_replica_count_never_lowered():
    specs = {s.name: s for s in new_topics(min_partitions=12, replication=3)}
    for t in TOPICS:
        assert specs[t.name].num_partitions == max(t.partitions, 12)
        assert specs[t.name].replication_factor == 3
        assert specs[t.dlq].num_partitions == 1
    defaults = {s.name: s for s in new_topics()}
    assert all(defaults[t.name].num_partitions == t.partitions for t in TOPICS)
    assert all(defaults[t.name].replication_factor == 1 for t in TOPICS)
