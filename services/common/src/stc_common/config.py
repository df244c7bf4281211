"""Settings shared by every service (pydantic-settings).

Each service subclasses `ServiceSettings` once, builds it in `main()` and passes it down;
nothing else reads `os.environ`. Variables are prefixed `STC_` (e.g. `STC_DATABASE_URL`).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service process needs: its database, Kafka, ports, auth keys, logging."""

    model_config = SettingsConfigDict(env_prefix="STC_", frozen=True, extra="ignore")

    service_name: str = "stc"
    database_url: str = "postgresql://stc@127.0.0.1:55432/stc"
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
    # Ed25519 public key (PEM) that verifies bearer tokens; empty = the development key.
    jwt_public_key_pem: str = ""
    jwt_issuer: str = "stc-dev"
    jwt_audience: str = "stc-platform"
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 0.2
    consumer_group_prefix: str = "stc"
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
