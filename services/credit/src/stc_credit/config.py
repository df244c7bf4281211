"""Settings of the credit service (env prefix STC_), built once in `main()`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stc_common.config import ConfigError, ServiceSettings
from stc_common.prc_time import prc_today

from stc_credit.domain.checkpoint import generate_key, parse_signer_key

DEFAULT_STATE_DIR = Path(__file__).resolve().parents[4] / ".state"


class CreditSettings(ServiceSettings):
    """Credit defaults: gRPC 50054, metrics 9104, database stc_credit."""

    service_name: str = "credit"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc_credit"
    grpc_port: int = 50054
    metrics_port: int = 9104
    # Identity of the log in every checkpoint (tlog-checkpoint origin line).
    log_origin: str = "stc.gov.cn/credit-log/v1"
    # Ed25519 signer key string (PRIVATE+KEY+name+hash+key), inline or in a file (a Docker
    # secret). Both empty: in development only, a key is generated once into
    # <state_dir>/credit-log.key; production refuses to start without one.
    log_signer_key: str = ""
    log_signer_key_file: str = ""
    state_dir: Path = DEFAULT_STATE_DIR
    # Publication ticker: how often pending records are published and deadlines checked.
    publication_interval_s: float = 30.0
    # A pending record with this many working days left (or fewer) raises an alert.
    deadline_margin_working_days: int = 5

    def signer_key(self) -> str:
        """The log's signer key string (generating the development key on first use)."""
        given, where = self.log_signer_key.strip(), "STC_LOG_SIGNER_KEY"
        if not given and self.log_signer_key_file:
            where = "STC_LOG_SIGNER_KEY_FILE"
            try:
                given = Path(self.log_signer_key_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"{where} {self.log_signer_key_file!r} cannot be read: {exc}"
                ) from exc
        if given:
            try:
                parse_signer_key(given)
            except ValueError as exc:
                raise ConfigError(f"{where} is not a signer key: {exc}") from exc
            return given
        if not self.is_development:
            raise ConfigError(
                "refusing to sign the credit log with a generated development key: set "
                "STC_LOG_SIGNER_KEY (or STC_LOG_SIGNER_KEY_FILE) to the log's signer key "
                "(`python -m stc_credit generate-key`), or set STC_ENVIRONMENT=development"
            )
        path = self.state_dir / "credit-log.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            signer, _ = generate_key("stc.dev/credit-log")
            path.write_text(signer + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    def verifier_key(self) -> str:
        """The verifier key string matching `signer_key()` (public)."""
        return parse_signer_key(self.signer_key()).verifier().encode()

    def published_verifier_key(self) -> str:
        """The verifier key to print: `verifier_key()`, or outside development the key of
        the local stack's development key file when one exists (reading a public key signs
        nothing, so `python -m stc_credit verifier-key` works from any shell)."""
        try:
            return self.verifier_key()
        except ConfigError:
            dev = self.state_dir / "credit-log.key"
            if self.log_signer_key or self.log_signer_key_file or not dev.exists():
                raise
            return parse_signer_key(dev.read_text().strip()).verifier().encode()


def today() -> dt.date:
    """Today's date in Beijing (PRC civil dates: decisions, deadlines, publication)."""
    return prc_today()
