"""Settings of the end-user service (env prefix STC_)."""

from __future__ import annotations

from stc_common.config import ServiceSettings


class EndUserSettings(ServiceSettings):
    """ServiceSettings with the end-user service's defaults."""

    service_name: str = "enduser"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc_enduser"
    grpc_port: int = 50053
    metrics_port: int = 9103
    # How often the background task looks for checks past their deadline.
    overdue_scan_interval_s: float = 30.0
