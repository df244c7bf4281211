"""docker-compose.yml stays valid for operators with Docker (`docker compose config`) and
safe to run as it is (docs/security.md): production mode, keys and passwords only from
secrets that must be given, only the gRPC ports published and only on loopback, PostgreSQL
with scram-sha-256 and a non-superuser role, Kafka without a host port.

The rendered config comes from `docker compose config` (or docker-compose's) where one is
installed, else from
the same file read with PyYAML and compose's `${VAR:-default}` / `${VAR:?error}`
interpolation, so the properties are checked on every machine.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from stc_common.auth.jwt import DEV_PUBLIC_KEY_PEM

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"kafka", "postgres", "topic-init", "migrate", "licensing", "screening", "enduser",
            "credit", "edge"}
APP_SERVICES = ("licensing", "screening", "enduser", "credit")
# the edge (Envoy: gRPC-Web, JSON and the portal) is the one published port besides gRPC
PUBLISHED = (*APP_SERVICES, "edge")
GRPC_PORTS = {"licensing": 50051, "screening": 50052, "enduser": 50053, "credit": 50054,
              "edge": 8080}
SECRET_VARS = (
    "STC_JWT_PUBLIC_KEY_FILE", "STC_LOG_SIGNER_KEY_FILE", "STC_POSTGRES_PASSWORD_FILE",
    "STC_DB_PASSWORD_FILE", "STC_DB_OWNER_PASSWORD_FILE",
)


def _compose() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class ComposeError(Exception):
    """A required variable is missing (what `docker compose config` refuses)."""


def _interpolate(value, env: dict[str, str]):
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        val = env.get(name)
        missing = val is None or (op is not None and op.startswith(":") and val == "")
        if op and op.endswith("?") and missing:
            raise ComposeError(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and missing:
            return arg
        return val or ""

    return _VAR.sub(sub, value)


def _ports(service: dict) -> list[dict]:
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append({"host_ip": p.get("host_ip", ""), "published": str(p.get("published", "")),
                        "target": int(p["target"])})
            continue
        parts = str(p).split("/")[0].split(":")  # [host_ip:][published:]target[/protocol]
        host_ip = parts[0] if len(parts) == 3 else ""
        published = parts[-2] if len(parts) >= 2 else ""
        out.append({"host_ip": host_ip, "published": published, "target": int(parts[-1])})
    return out


def _render(env: dict[str, str]) -> dict:
    """The config as compose renders it, for the environment `env`."""
    cmd = _compose()
    if cmd is not None:
        out = subprocess.run(
            [*cmd, "-f", str(COMPOSE), "config"],
            capture_output=True, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        if out.returncode != 0:
            raise ComposeError(out.stderr)
        return yaml.safe_load(out.stdout)
    return _interpolate(yaml.safe_load(COMPOSE.read_text()), env)


@pytest.fixture(scope="module")
def secrets_env(tmp_path_factory) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from stc_credit.domain.checkpoint import generate_key

    folder = tmp_path_factory.mktemp("secrets")
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files = {
        "STC_JWT_PUBLIC_KEY_FILE": public.decode(),
        "STC_LOG_SIGNER_KEY_FILE": generate_key("stc.gov.cn/credit-log")[0],
        "STC_POSTGRES_PASSWORD_FILE": "admin-password",
        "STC_DB_PASSWORD_FILE": "service-password",
        "STC_DB_OWNER_PASSWORD_FILE": "owner-password",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("STC_")}
    for var, content in files.items():
        path = folder / var.lower()
        path.write_text(content + "\n")
        env[var] = str(path)
    return env


@pytest.fixture(scope="module")
def config(secrets_env) -> dict:
    return _render(secrets_env)


def test_compose_file_is_valid_and_names_every_service(config):
    assert SERVICES <= set(config["services"])


@pytest.mark.parametrize("missing", SECRET_VARS)
def test_compose_refuses_to_render_without_each_secret(secrets_env, missing):
    env = {k: v for k, v in secrets_env.items() if k != missing}
    with pytest.raises(ComposeError, match=missing):
        _render(env)


def test_only_the_grpc_ports_are_published_and_only_on_loopback(config):
    published = {
        name: _ports(svc) for name, svc in config["services"].items() if svc.get("ports")
    }
    assert set(published) == set(PUBLISHED)  # no PostgreSQL, Kafka or topic-init port
    for name, ports in published.items():
        assert [p["target"] for p in ports] == [GRPC_PORTS[name]], name  # no metrics port
        assert all(p["host_ip"] == "127.0.0.1" for p in ports), (name, ports)


def test_the_bind_address_is_configurable(secrets_env):
    rendered = _render({**secrets_env, "STC_BIND_ADDRESS": "10.1.2.3"})
    assert {p["host_ip"] for p in _ports(rendered["services"]["credit"])} == {"10.1.2.3"}


def test_services_run_in_production_with_keys_and_passwords_from_secrets(config, secrets_env):
    rendered = json.dumps(config)
    assert DEV_PUBLIC_KEY_PEM.strip().splitlines()[1] not in rendered  # no dev key inline
    assert "dev_ed25519" not in rendered
    for name in APP_SERVICES:
        svc = config["services"][name]
        env = svc["environment"]
        assert env["STC_ENVIRONMENT"] == "production", name
        assert "STC_JWT_PUBLIC_KEY_PEM" not in env, name
        assert env["STC_JWT_PUBLIC_KEY_FILE"] == "/run/secrets/jwt_public_key", name
        assert env["STC_DATABASE_PASSWORD_FILE"] == "/run/secrets/stc_db_password", name
        url = env["STC_DATABASE_URL"]
        assert url.startswith("postgresql://stc@postgres:5432/"), url  # no password inline
        names = {s if isinstance(s, str) else s["source"] for s in svc["secrets"]}
        assert {"jwt_public_key", "stc_db_password"} <= names, name
        assert "stc_db_owner_password" not in names, name  # the owner is the migrate job's
        assert str(env["STC_MIGRATE_ON_START"]).lower() == "false", name
        assert "migrate" in svc["depends_on"], name
    credit = config["services"]["credit"]
    assert credit["environment"]["STC_LOG_SIGNER_KEY_FILE"] == "/run/secrets/credit_log_signer_key"
    assert "STC_LOG_SIGNER_KEY" not in credit["environment"]
    for secret, var in [("jwt_public_key", "STC_JWT_PUBLIC_KEY_FILE"),
                        ("credit_log_signer_key", "STC_LOG_SIGNER_KEY_FILE"),
                        ("stc_db_password", "STC_DB_PASSWORD_FILE")]:
        assert Path(config["secrets"][secret]["file"]) == Path(secrets_env[var])


def test_postgres_demands_scram_passwords_and_the_services_role_is_no_superuser(config):
    pg = config["services"]["postgres"]
    env = pg["environment"]
    assert env.get("POSTGRES_HOST_AUTH_METHOD") == "scram-sha-256"
    assert "trust" not in json.dumps(pg)
    assert "--auth-local=scram-sha-256" in env["POSTGRES_INITDB_ARGS"]
    assert "--auth-host=scram-sha-256" in env["POSTGRES_INITDB_ARGS"]
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in env
    assert env["POSTGRES_USER"] != "stc"  # the superuser is not the services' role
    init = (ROOT / "deploy/postgres/init-roles.sh").read_text()
    assert re.search(r"CREATE ROLE stc LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE", init)
    migrate = config["services"]["migrate"]
    assert migrate["environment"]["STC_DATABASE_PASSWORD_FILE"] == (
        "/run/secrets/stc_db_owner_password"
    )
    assert "stc_owner@postgres" in " ".join(migrate["entrypoint"])


def test_kafka_has_no_host_listener(config):
    kafka = config["services"]["kafka"]
    assert not kafka.get("ports")
    listeners = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "localhost" not in listeners and "EXTERNAL" not in kafka["environment"][
        "KAFKA_LISTENERS"]


def test_the_image_gives_the_service_user_a_writable_state_folder():
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    runtime = dockerfile.split("\nFROM ")[-1]  # the final stage
    assert "chown stc /app/.state" in runtime
    assert runtime.index("chown stc /app/.state") < runtime.index("USER stc")
    assert "STC_STATE_DIR=/app/.state" in runtime and "STC_ENVIRONMENT=production" in runtime


def test_every_declared_topic_is_created_by_topic_init():
    from stc_common.kafka.topics import TOPICS, new_topics

    names = {t.name for t in new_topics()}
    for topic in TOPICS:
        assert topic.name in names and topic.dlq in names
    assert any(t.compacted for t in TOPICS if t.name == "stc.credit.standing.v1")
