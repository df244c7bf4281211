"""Settings of the screening service (env prefix STC_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from stc_common.config import ServiceSettings
from stc_common.naming import event_source

# ce_source of the events screening publishes (and the unit of work's source)
SOURCE = event_source("screening")
# <repo>/services/screening/src/stc_screening/config.py -> <repo>/../shared/data
_REPO = Path(__file__).resolve().parents[4]
DEFAULT_DATA_DIR = _REPO.parent / "shared" / "data"


class ScreeningSettings(ServiceSettings):
    """ServiceSettings with the screening service's defaults."""

    service_name: str = "screening"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc_screening"
    grpc_port: int = 50052
    metrics_port: int = 9102
    # Folder laid out like shared/data (lists/, control_list/, policy/); empty = the
    # shared/data folder beside the repository. docker-compose sets /data.
    data_dir: str = ""
    # Import every shipped list when the list table is empty at start.
    import_on_start: bool = True
    # Publish ListEntryAdded for the first load of a list too (30k events; off: only changes
    # to a list already loaded are published).
    publish_initial_load: bool = False
    # Thresholds of the matcher (score in [0, 1]).
    potential_threshold: float = 0.84
    match_threshold: float = 0.95
    # Keep every replica's in-memory index current from stc.screening.list.v1.
    index_sync: bool = True
    # ... and reconcile it with the table this often (the most a replica can lag when an
    # event was missed; changes normally arrive within the relay's and the fetch's delay).
    index_reconcile_interval_s: float = 30.0
    # Screening jobs that may wait for the matcher thread before RPCs get RESOURCE_EXHAUSTED.
    matcher_max_queue: int = 256
    # Forked matcher processes for batch screening (ScreenParties; issue 14): None = one per
    # usable core (affinity, container CPU quota) from two cores on, at most 8 (none on one
    # core), 0 = every batch on the matcher thread. Env STC_SCREENING_MATCH_PROCESSES.
    screening_match_processes: int | None = Field(default=None, ge=0, le=64)
    # After a list change the processes are forked again once the index has been quiet for
    # this long (and a batch has asked); until then batches run on the matcher thread.
    screening_match_refork_debounce_s: float = Field(default=1.0, ge=0.0)

    @property
    def data_path(self) -> Path:
        """The data folder to read lists, the control list and policy from."""
        return Path(self.data_dir) if self.data_dir else DEFAULT_DATA_DIR
