"""Settings of the licensing service (env prefix STC_)."""

from __future__ import annotations

from stc_common.config import ServiceSettings

# ce_source of every event the licensing service publishes (and the outbox rows it writes)
SOURCE = "stc-licensing"


class LicensingSettings(ServiceSettings):
    """Licensing defaults: gRPC 50051, metrics 9101, database stc_licensing."""

    service_name: str = "licensing"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc_licensing"
    grpc_port: int = 50051
    metrics_port: int = 9101
    db_pool_max: int = 10
    # How often the background task looks for breached deadlines and expired licences.
    ticker_interval_s: float = 60.0
    # DeadlineApproaching once this many working days (or fewer) of Reg. 17's 45 are left.
    deadline_warning_working_days: int = 5
    # Art. 13(2): the UN Security Council arms-embargo table (CSV: country, name, scope,
    # resolution, since) added to every bundled policy. Empty: the copy shipped with the
    # package (stc_licensing/policy/unsc_arms_embargoes.csv); a path replaces it.
    arms_embargoes_path: str = ""
