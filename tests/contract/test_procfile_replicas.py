"""deploy/procfile.sh: the Procfile `STC_REPLICAS=N make run` hands to honcho (issue 14 item 4).

Each line is evaluated by /bin/sh as honcho does, with `exec python -m …` replaced by a
print of the environment the service would read.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "procfile.sh"


def _procfile(n: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), n], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env})


def _lines(n: int) -> dict[str, str]:
    out = _procfile(str(n))
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) for line in out.stdout.splitlines()
                if line and not line.startswith("#"))


def _service_env(command: str, **env: str) -> dict[str, str]:
    """What the service process of `command` would see: STC_GRPC_PORT, STC_METRICS_PORT …"""
    shown = command.split(" exec python", 1)[0] + " env"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STC_")}
    out = subprocess.run(["/bin/sh", "-c", shown], capture_output=True, text=True,
                         env={**clean, **env}, check=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def test_one_replica_is_the_procfile_itself():
    out = _procfile("1")
    assert out.returncode == 0
    assert out.stdout == (ROOT / "deploy" / "Procfile").read_text()


def test_replica_k_of_each_service_gets_ports_of_its_own():
    lines = _lines(3)
    services = ("licensing", "screening", "enduser", "credit")
    assert {f"{s}-{k}" for s in services for k in (2, 3)} <= set(lines)
    assert "edge-2" not in lines and "demo-2" not in lines  # one edge, one demo
    ports = {}
    for name in [f"{s}{k}" for s in services for k in ("", "-2", "-3")]:
        env = _service_env(lines[name])
        ports[name] = (int(env["STC_GRPC_PORT"]), int(env["STC_METRICS_PORT"]))
        assert env["STC_DATABASE_URL"].endswith(f"/stc_{name.split('-')[0]}")  # one database
    assert ports["licensing"] == (50051, 9101)
    assert ports["licensing-2"] == (50061, 9111)
    assert ports["credit-3"] == (50074, 9124)
    grpc = [g for g, _ in ports.values()]
    metrics = [m for _, m in ports.values()]
    assert len(set(grpc)) == len(set(metrics)) == len(ports) == 12


def test_ports_follow_the_first_replica_or_an_explicit_setting():
    lines = _lines(2)
    moved = _service_env(lines["screening-2"], STC_SCREENING_GRPC_PORT="6000",
                         STC_SCREENING_METRICS_PORT="7000")
    assert (moved["STC_GRPC_PORT"], moved["STC_METRICS_PORT"]) == ("6010", "7010")
    chosen = _service_env(lines["screening-2"], STC_SCREENING_GRPC_PORT_2="6543",
                          STC_SCREENING_METRICS_PORT_2="7654")
    assert (chosen["STC_GRPC_PORT"], chosen["STC_METRICS_PORT"]) == ("6543", "7654")


@pytest.mark.parametrize("bad", ["0", "10", "two"])
def test_a_bad_replica_count_is_refused(bad):
    out = _procfile(bad, STC_REPLICAS=bad)
    assert out.returncode == 2 and "replicas must be 1-9" in out.stderr


def test_the_edge_gets_every_replica_of_every_service():
    lines = _lines(3)
    edge = _service_env(lines["edge"])
    assert edge["STC_LICENSING_ADDR"] == "127.0.0.1:50051,127.0.0.1:50061,127.0.0.1:50071"
    assert edge["STC_CREDIT_ADDR"] == "127.0.0.1:50054,127.0.0.1:50064,127.0.0.1:50074"
    # the same ports the replicas themselves take, moved or chosen
    env = {"STC_SCREENING_GRPC_PORT": "6000", "STC_SCREENING_GRPC_PORT_3": "6543"}
    moved = _service_env(lines["edge"], **env)
    assert moved["STC_SCREENING_ADDR"] == ",".join(
        f"127.0.0.1:{_service_env(lines[n], **env)['STC_GRPC_PORT']}"
        for n in ("screening", "screening-2", "screening-3"))
    assert moved["STC_SCREENING_ADDR"] == "127.0.0.1:6000,127.0.0.1:6010,127.0.0.1:6543"
    # one replica: the Procfile's own single addresses
    assert _service_env(_lines(1)["edge"])["STC_ENDUSER_ADDR"] == "127.0.0.1:50053"
