"""Settings shared by every service (pydantic-settings).

Each service subclasses `ServiceSettings` once, builds it in `main()` and passes it down;
nothing else reads `os.environ`. Variables are prefixed `STC_` (e.g. `STC_DATABASE_URL`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The variable that lets a service run with the committed development keys.
ENVIRONMENT_VAR = "STC_ENVIRONMENT"


class ConfigError(ValueError):
    """A setting that makes the process unsafe or unable to run; raised before it starts."""


class ServiceSettings(BaseSettings):
    """What every service process needs: its database, Kafka, ports, auth keys, logging."""

    model_config = SettingsConfigDict(env_prefix="STC_", frozen=True, extra="ignore")

    service_name: str = "stc"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc"
    # The database role's password in a file (a Docker secret), put into database_url.
    database_password_file: str = ""
    # Apply the migrations at start (the local stack). False where a separate role that owns
    # the schema migrates first (`python -m stc_<service> migrate`, docker-compose's
    # `migrate`), so the role the service runs as cannot alter or drop its tables.
    migrate_on_start: bool = True
    db_pool_min: int = 1
    db_pool_max: int = 5
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    metrics_port: int = 9101
    log_level: str = "INFO"
    log_json: bool = True
    # production (the default) refuses the development keys committed in the repository;
    # development (make run, make test, the test helpers, bench) accepts them.
    environment: Literal["production", "development"] = "production"
    # Ed25519 public key (PEM) that verifies bearer tokens, inline or in a file (a Docker
    # secret); both empty = the development key, accepted only in development.
    jwt_public_key_pem: str = ""
    jwt_public_key_file: str = ""
    jwt_issuer: str = "stc-dev"
    jwt_audience: str = "stc-platform"
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 0.2
    consumer_group_prefix: str = "stc"
    # the engines may fail (issue 10 item 8): a background task (relay, consumer, periodic
    # job) that crashes is restarted with backoff (1 s doubling to 30 s); after this many
    # failures in a row (about 90 s with 8) the process exits 1
    task_max_failures: int = 8
    # failed rounds in a row (backoff 1 s doubling to 30 s) after which a periodic job
    # fails the process (stc_common.periodic)
    periodic_max_failures: int = 10
    # attempts (with backoff up to 10 s) of the relay to reach PostgreSQL before it fails
    relay_max_db_failures: int = 20
    # how often the engine monitor checks PostgreSQL and Kafka (gRPC health follows them)
    engine_check_interval_s: float = 2.0
    # gRPC transport security, off by default (the local stack is plaintext on loopback).
    # Server certificate + key (PEM files) switch TLS on; a client CA on top switches mutual
    # TLS on: clients must present a certificate signed by it. Checked at start
    # (`stc_common.grpc.server.load_server_tls`); `python -m stc_common.tools.devcerts`
    # makes a throwaway set for development.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    # Server limits (issue 10, item 7). Beyond a concurrency limit a call is refused at once
    # with RESOURCE_EXHAUSTED (never queued). Public calls count per client address.
    jwt_max_lifetime_s: float = 12 * 3600  # exp - iat of an accepted token
    grpc_max_concurrent_rpcs: int = 256  # in flight on one service
    grpc_max_rpcs_per_principal: int = 64  # in flight for one caller (a back office batches)
    grpc_max_streams_per_principal: int = 8  # open WatchApplication-style streams, one caller
    grpc_keepalive_time_s: int = 60  # server pings an idle connection this often
    grpc_keepalive_timeout_s: int = 20  # and closes it when the ping is not answered
    grpc_max_connection_idle_s: int = 300  # a connection without calls is closed
    grpc_max_connection_age_s: int = 3600  # every connection is recycled (GOAWAY)
    grpc_max_connection_age_grace_s: int = 300  # open streams get this long to finish

    @model_validator(mode="before")
    @classmethod
    def _database_password_from_file(cls, data: Any) -> Any:
        """Put the password read from `database_password_file` into `database_url`."""
        if not isinstance(data, dict) or not data.get("database_password_file"):
            return data
        path = data["database_password_file"]
        try:
            lines = Path(path).read_text().splitlines()
            password = lines[0] if lines else ""  # as deploy/postgres/init-roles.sh reads it
        except OSError as exc:
            raise ConfigError(f"STC_DATABASE_PASSWORD_FILE {path!r} cannot be read: {exc}") from exc
        url = urlsplit(str(data.get("database_url") or cls.model_fields["database_url"].default))
        host = url.netloc.rpartition("@")[2]
        user = url.username or ""
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
        return {**data, "database_url": urlunsplit(url._replace(netloc=netloc))}

    @property
    def is_development(self) -> bool:
        """True when the committed development keys may be used."""
        return self.environment == "development"

    def jwt_public_key(self) -> str:
        """The token-verifying public key (PEM): inline, else from the file, else ''."""
        if self.jwt_public_key_pem.strip():
            return self.jwt_public_key_pem
        if self.jwt_public_key_file:
            try:
                return Path(self.jwt_public_key_file).read_text()
            except OSError as exc:
                raise ConfigError(
                    f"STC_JWT_PUBLIC_KEY_FILE {self.jwt_public_key_file!r} cannot be read: {exc}"
                ) from exc
        return ""

    def check_keys(self) -> None:
        """Refuse to run with the development token key outside development (fail closed).

        Anyone can mint an officer token with the development private key committed beside
        `stc_common.auth.jwt`, so production needs a key of its own.
        """
        from stc_common.auth.jwt import is_development_key, load_public_key

        pem = self.jwt_public_key()
        if pem:
            try:
                load_public_key(pem)
            except ValueError as exc:
                raise ConfigError(f"STC_JWT_PUBLIC_KEY_PEM/_FILE: {exc}") from exc
        if self.is_development:
            return
        if not pem or is_development_key(pem):
            raise ConfigError(
                "refusing to start with the development JWT key: set STC_JWT_PUBLIC_KEY_PEM "
                "(or STC_JWT_PUBLIC_KEY_FILE) to the platform's Ed25519 public key, or set "
                f"{ENVIRONMENT_VAR}=development on a development machine"
            )
