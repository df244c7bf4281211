"""The relay's fallback poll backs off while it finds nothing (stc_common.outbox, issue 14):
NOTIFY wakes it for every insert, so an idle relay need not ask 20 times a second."""

from stc_common.outbox import OutboxRelay


def test_the_poll_doubles_while_idle_up_to_the_maximum():
    relay = OutboxRelay(dsn="", bootstrap="", service="s", poll_interval=0.05,
                        max_poll_interval=1.0)
    waits = [relay._poll_wait(idle) for idle in range(8)]
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert relay._poll_wait(10_000) == 1.0  # no overflow however long it stays idle


def test_a_maximum_below_the_interval_keeps_the_interval():
    relay = OutboxRelay(dsn="", bootstrap="", service="s", poll_interval=2.0,
                        max_poll_interval=1.0)
    assert relay._poll_wait(0) == relay._poll_wait(5) == 2.0
