"""docker-compose.yml stays valid for operators with Docker (`docker compose config`)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid_and_names_every_service():
    cmd = _compose()
    if cmd is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    out = subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    services = set(out.stdout.split())
    assert {
        "kafka",
        "postgres",
        "topic-init",
        "licensing",
        "screening",
        "enduser",
        "credit",
    } <= services


def test_every_declared_topic_is_created_by_topic_init():
    from stc_common.kafka.topics import TOPICS, new_topics

    names = {t.name for t in new_topics()}
    for topic in TOPICS:
        assert topic.name in names and topic.dlq in names
    assert any(t.compacted for t in TOPICS if t.name == "stc.credit.standing.v1")
