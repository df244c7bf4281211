"""The whole platform on fresh databases and free ports, for the e2e tests and the benchmarks.

Two ways to run it, sharing one environment (`prepare_platform`):
- `running_platform`: as `make run` starts it (honcho with deploy/Procfile, pointed at the
  fresh databases and ports through STC_<SERVICE>_* variables); honcho stops everything when
  one process dies.
- `running_services` / `ServiceProcesses`: each service its own `python -m stc_<svc> serve`
  subprocess with the environment the Procfile derives (`service_env`), so a test can kill -9
  one service and restart it while the others keep running.

Both take `replicas` (issue 14 item 4): N processes of each service on the same databases and
topics, replica k > 1 named `<service>-<k>` with gRPC and metrics ports of its own
(STC_<SERVICE>_GRPC_PORT_<k>, STC_<SERVICE>_METRICS_PORT_<k>, as deploy/procfile.sh reads
them). `addresses` stays the first replica's; `replica_addresses` lists them all.

Every consumer group of the run starts at the topics' current ends: the shared topics hold
the history of every earlier run, which is not this run's business (replaying it kept a new
platform busy for minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from stc_common.testing.kafka import start_group_at_end
from stc_common.testing.service import free_port, wait_grpc_ready

SERVICES = ("licensing", "screening", "enduser", "credit")
# What the Procfile maps from STC_<SERVICE>_<NAME> to each process's STC_<NAME>.
PER_SERVICE = ("DATABASE_URL", "GRPC_PORT", "METRICS_PORT")


@dataclass(frozen=True)
class Platform:
    """Where the started platform listens, and its process and log."""

    addresses: dict[str, str]
    env: dict[str, str]
    log: Path
    pid: int


@dataclass(frozen=True)
class PlatformEnv:
    """One run's environment: fresh databases, free ports, a unique consumer-group prefix."""

    run_id: str
    env: dict[str, str]
    addresses: dict[str, str]
    databases: dict[str, str] = field(default_factory=dict)  # service -> database name
    replicas: int = 1

    def port(self, svc: str, replica: int = 1) -> int:
        """The gRPC port of replica `replica` (1-based) of `svc`."""
        return int(self.replica_addresses(svc)[replica - 1].rsplit(":", 1)[1])

    def replica_addresses(self, svc: str) -> list[str]:
        """Where each replica of `svc` listens, the first replica first."""
        return [self.addresses[svc]] + [
            f"127.0.0.1:{self.env[f'STC_{svc.upper()}_GRPC_PORT_{k}']}"
            for k in range(2, self.replicas + 1)
        ]

    def instances(self, services: Iterable[str] | None = None) -> list[str]:
        """Process names of every replica: `licensing`, `licensing-2`, …"""
        return [instance_name(svc, k) for svc in (services or self.addresses)
                for k in range(1, self.replicas + 1)]


def instance_name(svc: str, replica: int) -> str:
    """The process name of replica `replica` of `svc`, as deploy/procfile.sh names it."""
    return svc if replica == 1 else f"{svc}-{replica}"


def parse_instance(name: str) -> tuple[str, int]:
    """(service, replica) of a process name."""
    svc, _, k = name.partition("-")
    return svc, int(k) if k else 1


def _with_db(dsn: str, db: str) -> str:
    return f"{dsn.rpartition('/')[0]}/{db}"


def service_env(penv: PlatformEnv, svc: str, replica: int = 1) -> dict[str, str]:
    """The environment of one service process, as deploy/Procfile derives it."""
    env = dict(penv.env)
    for name in PER_SERVICE:
        own = f"STC_{svc.upper()}_{name}_{replica}"
        env[f"STC_{name}"] = penv.env.get(own) or penv.env[f"STC_{svc.upper()}_{name}"]
    return env


def consumer_groups(penv: PlatformEnv, svc: str) -> list[tuple[str, list[str]]]:
    """(group id, topics) of every consumer group the service will run with this env.

    Built from the service's own spec, so a group added to a service is covered too; the
    credit service's Faust standing app (a background task, not an EventConsumer) is added.
    """
    main = importlib.import_module(f"stc_{svc}.main")
    config = importlib.import_module(f"stc_{svc}.config")
    settings_cls = next(
        getattr(config, n) for n in dir(config)
        if n.endswith("Settings") and n != "ServiceSettings"
    )
    saved = dict(os.environ)
    try:
        os.environ.update(service_env(penv, svc))
        settings = settings_cls()
        groups = [(c.group_id, list(c.topics)) for c in main.build_spec(settings).consumers(None)]
        if hasattr(main, "run_standing_app"):  # credit's Faust app
            from stc_common.kafka.topics import CREDIT_RECORD
            app = importlib.import_module(f"stc_{svc}.app")
            groups.append((app.app_id(settings), [CREDIT_RECORD.name]))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return groups


async def prepare_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, services: Iterable[str] = SERVICES,
    replicas: int = 1,
) -> PlatformEnv:
    """Create the run's databases, choose its ports (each replica its own), start its
    consumer groups at the ends."""
    run_id = uuid.uuid4().hex[:8]
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "STC_LOG_JSON": "true",
        "STC_ENVIRONMENT": "development",  # the development token and log keys
        "STC_CONSUMER_GROUP_PREFIX": f"run-{run_id}",
        "STC_IMPORT_ON_START": "true",
        "STC_RELAY_POLL_INTERVAL_S": "0.05",
    }
    penv = PlatformEnv(run_id, env, {}, {}, replicas)
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        for svc in services:
            db = f"run_{svc}_{run_id}"
            await conn.execute(f'CREATE DATABASE "{db}"')
            penv.databases[svc] = db
            port = free_port()
            env[f"STC_{svc.upper()}_DATABASE_URL"] = _with_db(pg_admin_dsn, db)
            env[f"STC_{svc.upper()}_GRPC_PORT"] = str(port)
            env[f"STC_{svc.upper()}_METRICS_PORT"] = str(free_port())
            for k in range(2, replicas + 1):
                env[f"STC_{svc.upper()}_GRPC_PORT_{k}"] = str(free_port())
                env[f"STC_{svc.upper()}_METRICS_PORT_{k}"] = str(free_port())
            penv.addresses[svc] = f"127.0.0.1:{port}"
    finally:
        await conn.close()
    for svc in services:
        for group, topics in consumer_groups(penv, svc):
            await start_group_at_end(kafka_bootstrap, group, topics)
    return penv


async def drop_platform(pg_admin_dsn: str, penv: PlatformEnv) -> None:
    """Drop the run's databases."""
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        for db in penv.databases.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def _addresses_in_environ(addresses: dict[str, str]):
    """STC_<SERVICE>_ADDR while running, so the CLI and the demo find the services."""
    saved = {k: os.environ.get(k) for k in (f"STC_{s.upper()}_ADDR" for s in SERVICES)}
    try:
        for svc, addr in addresses.items():
            os.environ[f"STC_{svc.upper()}_ADDR"] = addr
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _terminate(proc: asyncio.subprocess.Process, group: bool) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        await proc.wait()


@contextlib.asynccontextmanager
async def running_platform(
    root: Path, pg_admin_dsn: str, kafka_bootstrap: str, ready_timeout: float = 180,
    replicas: int = 1,
) -> AsyncIterator[Platform]:
    """Start the four services under honcho (`replicas` of each, with the Procfile that
    deploy/procfile.sh writes, as `make run` does); stop them and drop their databases
    afterwards.

    Sets STC_<SERVICE>_ADDR in os.environ while running (the first replicas), so the CLI and
    the demo find them.
    """
    penv = await prepare_platform(pg_admin_dsn, kafka_bootstrap, replicas=replicas)
    bin_dir = Path(sys.executable).parent
    log_path = root / ".state" / f"platform-{penv.run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    procfile = root / ".state" / f"Procfile-{penv.run_id}"
    try:
        generated = await asyncio.create_subprocess_exec(
            str(root / "deploy" / "procfile.sh"), str(replicas),
            stdout=asyncio.subprocess.PIPE, cwd=str(root))
        text, _ = await generated.communicate()
        if generated.returncode:
            raise RuntimeError(f"deploy/procfile.sh {replicas} failed")
        procfile.write_bytes(text)
        with open(log_path, "wb") as log:  # noqa: ASYNC230 - opened once, before anything runs
            proc = await asyncio.create_subprocess_exec(
                str(bin_dir / "honcho"),
                "-f",
                str(procfile),
                "-d",
                str(root),
                "start",
                *penv.instances(SERVICES),
                env=penv.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                await asyncio.gather(*(
                    wait_grpc_ready(penv.port(s, k), ready_timeout)
                    for s in SERVICES for k in range(1, replicas + 1)
                ))
                with _addresses_in_environ(penv.addresses):
                    yield Platform(penv.addresses, penv.env, log_path, proc.pid)
            finally:
                await _terminate(proc, group=True)
    finally:
        procfile.unlink(missing_ok=True)
        await drop_platform(pg_admin_dsn, penv)


class ServiceProcesses:
    """Each service its own `python -m stc_<svc> serve` process: start, kill -9, restart.

    Processes are named by `instance_name` (`screening`, `screening-2` with replicas); output
    of every incarnation of one is appended to `logs[name]`.
    """

    def __init__(self, root: Path, penv: PlatformEnv, ready_timeout: float = 120) -> None:
        self.root, self.penv, self.ready_timeout = root, penv, ready_timeout
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.logs = {
            name: root / ".state" / f"services-{penv.run_id}-{name}.log"
            for name in penv.instances()
        }

    @property
    def addresses(self) -> dict[str, str]:
        """Where each service listens (the same port across restarts)."""
        return self.penv.addresses

    def replica_addresses(self, svc: str) -> list[str]:
        """Where each replica of `svc` listens, the first replica first."""
        return self.penv.replica_addresses(svc)

    async def start(self, name: str) -> float:
        """Start process `name` (a service, or `<service>-<k>` for its k-th replica) and wait
        until its health check answers SERVING; the seconds it took.

        Raises RuntimeError when the process exits before it is ready.
        """
        svc, replica = parse_instance(name)
        if name in self.procs and self.procs[name].returncode is None:
            raise RuntimeError(f"{name} is already running")
        t0 = time.perf_counter()
        self.logs[name].parent.mkdir(parents=True, exist_ok=True)
        with open(self.logs[name], "ab") as log:  # noqa: ASYNC230 - a moment, before it runs
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"stc_{svc}", "serve",
                env=service_env(self.penv, svc, replica), cwd=str(self.root),
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        self.procs[name] = proc
        ready = asyncio.create_task(
            wait_grpc_ready(self.penv.port(svc, replica), self.ready_timeout))
        exited = asyncio.create_task(proc.wait())
        done, _ = await asyncio.wait([ready, exited], return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            raise RuntimeError(f"{name} exited with {proc.returncode} during start-up "
                               f"(log: {self.logs[name]})")
        exited.cancel()
        ready.result()
        return time.perf_counter() - t0

    async def kill(self, name: str) -> None:
        """kill -9 the process (no shutdown of any kind) and reap it."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def restart(self, name: str) -> float:
        """Start a killed process again; the seconds from start to SERVING."""
        return await self.start(name)

    async def stop_all(self) -> None:
        """SIGTERM every running service (SIGKILL after 30 s)."""
        await asyncio.gather(*(_terminate(p, group=False) for p in self.procs.values()))


@contextlib.asynccontextmanager
async def running_services(
    root: Path, pg_admin_dsn: str, kafka_bootstrap: str,
    services: Iterable[str] = SERVICES, ready_timeout: float = 180, replicas: int = 1,
) -> AsyncIterator[ServiceProcesses]:
    """Start the services as separate processes (no honcho), `replicas` of each, all SERVING
    (the replicas of a service start at the same time, on its empty database); stop them and
    drop their databases afterwards. Sets STC_<SERVICE>_ADDR in os.environ while running (the
    first replicas)."""
    services = tuple(services)
    penv = await prepare_platform(pg_admin_dsn, kafka_bootstrap, services, replicas)
    procs = ServiceProcesses(root, penv, ready_timeout)
    try:
        await asyncio.gather(*(procs.start(name) for name in penv.instances(services)))
        with _addresses_in_environ(penv.addresses):
            yield procs
    finally:
        await procs.stop_all()
        await drop_platform(pg_admin_dsn, penv)
