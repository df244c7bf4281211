"""A service process started without a real token key: refused in production (readable
error, non-zero exit), accepted in development and with a real key — over real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stc_common.auth.jwt import Role, mint_token, require
from stc_common.config import ConfigError, ServiceSettings
from stc_common.runtime import ServiceSpec, run_service
from stc_common.testing.service import free_port, running_service

pytestmark = pytest.mark.integration
SERVICE = "stc.test.v1.ProdEchoService"


async def _whoami(request, context):
    p = require(Role.AUDITOR)
    return wrappers_pb2.StringValue(value=p.subject)


def _register(server, pool):
    handler = grpc.unary_unary_rpc_method_handler(
        _whoami,
        request_deserializer=wrappers_pb2.StringValue.FromString,
        response_serializer=wrappers_pb2.StringValue.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {"WhoAmI": handler})]
    )


def _spec(tmp_path) -> ServiceSpec:
    (tmp_path / "migrations").mkdir(exist_ok=True)
    return ServiceSpec(
        name="prodtest", migrations=tmp_path / "migrations", service_names=[SERVICE],
        register=_register,
    )  # fmt: skip


def _key_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.mark.parametrize("service", ["licensing", "screening", "enduser", "credit"])
async def test_a_service_process_refuses_the_development_key_in_production(service):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STC_")}
    env["STC_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"  # never reached
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # this checkout's code
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"stc_{service}", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    text = out.decode()
    assert proc.returncode != 0, text
    assert "refusing to" in text and "STC_ENVIRONMENT=development" in text, text
    assert "service.ready" not in text


async def test_run_service_refuses_before_touching_the_database(tmp_path):
    settings = ServiceSettings(
        environment="production", database_url="postgresql://nobody@127.0.0.1:1/none",
        grpc_port=free_port(), metrics_port=free_port(),
    )  # fmt: skip
    with pytest.raises(ConfigError, match="STC_JWT_PUBLIC_KEY_PEM"):
        await run_service(settings, _spec(tmp_path), with_relay=False, stop=asyncio.Event())


async def _call(port: int, token: str) -> grpc.StatusCode | str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        health = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        call = ch.unary_unary(
            f"/{SERVICE}/WhoAmI",
            request_serializer=wrappers_pb2.StringValue.SerializeToString,
            response_deserializer=wrappers_pb2.StringValue.FromString,
        )
        try:
            r = await call(wrappers_pb2.StringValue(), metadata=(("authorization", f"Bearer {token}"),))
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return r.value


async def test_production_with_a_real_key_starts_and_rejects_development_tokens(
    tmp_path, fresh_database
):
    private, public = _key_pair()
    settings = ServiceSettings(
        environment="production", jwt_public_key_pem=public,
        database_url=await fresh_database("prod"), grpc_port=free_port(),
        metrics_port=free_port(),
    )  # fmt: skip
    async with running_service(settings, _spec(tmp_path), with_relay=False, development=False) as port:
        good = mint_token(role="auditor", subject="real-auditor", private_key_pem=private)
        assert await _call(port, good) == "real-auditor"
        forged = mint_token(role="auditor", subject="dev-auditor")  # the committed key
        assert await _call(port, forged) == grpc.StatusCode.UNAUTHENTICATED


async def test_development_mode_starts_with_the_development_key(tmp_path, fresh_database):
    settings = ServiceSettings(
        environment="development", database_url=await fresh_database("dev"),
        grpc_port=free_port(), metrics_port=free_port(),
    )  # fmt: skip
    async with running_service(settings, _spec(tmp_path), with_relay=False, development=False) as port:
        assert await _call(port, mint_token(role="auditor", subject="dev")) == "dev"


async def test_a_service_told_not_to_migrate_leaves_the_schema_to_its_owner(
    tmp_path, fresh_database
):
    import asyncpg

    dsn = await fresh_database("nomig")
    settings = ServiceSettings(
        environment="development", database_url=dsn, migrate_on_start=False,
        grpc_port=free_port(), metrics_port=free_port(),
    )  # fmt: skip
    async with running_service(settings, _spec(tmp_path), with_relay=False) as port:
        assert await _call(port, mint_token(role="auditor", subject="a")) == "a"
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None
    finally:
        await conn.close()
