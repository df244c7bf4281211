"""Settings of the licensing service (env prefix STC_)."""

from __future__ import annotations

from pydantic import Field
from stc_common.config import ServiceSettings
from stc_common.naming import event_source

# ce_source of every event the licensing service publishes (and the outbox rows it writes)
SOURCE = event_source("licensing")


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
    # Issue 11 item 3: a YAML file of State Council holiday schedules (holidays and adjusted
    # working days of a year, with the announcement; see domain/holiday_calendar.py), entered
    # at start-up and taking precedence over the chinese_calendar package. Empty: none.
    holiday_schedules_path: str = ""
    # How often each replica looks for a schedule another replica entered.
    holiday_refresh_s: float = 10.0
    # Issue 14: submissions are refused (RESOURCE_EXHAUSTED, PIPELINE_FULL, RetryInfo) while
    # the limit's number of applications await assessment across the replicas, so the backlog
    # cannot grow in Kafka where the gRPC limits do not see it. The limit adapts to the
    # observed accepted→assessed latency (service/admission.py); this is its ceiling (or the
    # fixed limit without `admission_adaptive`). 0: no limit at all.
    max_applications_awaiting_assessment: int = Field(default=100, ge=0)
    # The adaptive limit: cut by a quarter when the percentile below of this process's last
    # 100 assessments (accepted→assessed) exceeds the target, +1 every 0.5 s while under it
    # (either only while at least half the limit is in flight).
    admission_adaptive: bool = True
    admission_latency_percentile: float = Field(default=99.0, gt=0, le=100)
    # The target: the 1 s bound that defines the capacity (issue 14) minus a margin for the
    # answer and the watch that carry the news to the client.
    admission_target_latency_ms: int = Field(default=700, gt=0)
    # The floor and the start of the adaptive limit (both at most the ceiling: a larger value
    # is taken as the ceiling).
    admission_min_limit: int = Field(default=5, ge=1)
    admission_initial_limit: int = Field(default=20, ge=1)
    # Issue 11 item 5: TemporaryControlExpiring this many days before a measure ends (Art. 9(2)).
    temporary_control_alert_days: int = 60
    # Issue 11 item 6: the de minimis rules (ECL Arts. 45, 44) as YAML; empty: the bundled
    # stc_licensing/policy/extraterritorial.yaml.
    extraterritorial_rules_path: str = ""
