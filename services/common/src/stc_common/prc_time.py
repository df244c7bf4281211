"""The PRC's civil time: decision dates, statutory deadlines and publication days are dates in
Beijing (UTC+8, no daylight saving since 1991), whatever the server's own time zone is.

One constant for every service (four copies of it existed: issue 13).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: China Standard Time (Asia/Shanghai).
PRC_TZ = ZoneInfo("Asia/Shanghai")


def prc_date(when: dt.datetime) -> dt.date:
    """The Beijing calendar date of an aware instant (a naive one is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(PRC_TZ).date()


def prc_today() -> dt.date:
    """Today's date in Beijing."""
    return dt.datetime.now(PRC_TZ).date()
