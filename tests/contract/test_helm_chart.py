"""deploy/helm/stc renders for every values file and every manifest validates offline.

Built-in kinds (Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, Job) are
checked with kubernetes-validate against the Kubernetes schemas it ships (strict: unknown
fields fail). The operators' custom resources (Strimzi, CloudNativePG) have no schema there:
their fields that the platform depends on are asserted here instead.

helm comes from `make tools` (`go install helm.sh/helm/v4/cmd/helm`, cached per machine in
~/.cache/stc-tools/helm-VERSION; the Makefile passes its path as STC_HELM). Under CI a missing helm fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from stc_common.kafka.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "stc"
VALUES = sorted((ROOT / "deploy" / "helm" / "values").glob("*.yaml"))
K8S_VERSION = "1.33.0"
SERVICES = ("licensing", "screening", "enduser", "credit")


def _helm() -> str:
    state = Path(os.environ.get("STC_STATE_DIR", ROOT / ".state"))
    for candidate in (os.environ.get("STC_HELM"), str(state / "tools" / "helm" / "helm"),
                      shutil.which("helm")):
        if candidate and Path(candidate).is_file():
            return candidate
    if os.environ.get("CI"):
        pytest.fail("helm is missing: `make tools` builds it (STC_HELM names it)")
    pytest.skip("helm is not built yet (`make tools`)")


def _render(values: Path | None, *sets: str) -> list[dict]:
    cmd = [_helm(), "template", "stc", str(CHART), "--kube-version", K8S_VERSION]
    if values is not None:
        cmd += ["-f", str(values)]
    for s in sets:
        cmd += ["--set", s]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda v: v.name if v else "defaults")
def test_every_rendered_manifest_validates(values):
    docs = _render(values)
    checked = 0
    for doc in docs:
        api = doc["apiVersion"]
        if api.startswith(("kafka.strimzi.io/", "postgresql.cnpg.io/")):
            assert doc["metadata"]["name"] and doc["spec"], doc
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked += 1
    deployments = _by_kind(docs, "Deployment")
    assert sorted(d["spec"]["template"]["spec"]["containers"][0]["name"]
                  for d in deployments) == sorted(SERVICES)
    assert len(_by_kind(docs, "PodDisruptionBudget")) == 4
    assert checked >= 12  # 4 × (Deployment, Service, PodDisruptionBudget) at least


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda v: v.name if v else "defaults")
def test_probes_are_grpc_and_resources_are_requested(values):
    for dep in _by_kind(_render(values), "Deployment"):
        container = dep["spec"]["template"]["spec"]["containers"][0]
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["grpc"]["port"] == port, (dep["metadata"]["name"], probe)
        env = {e["name"]: e for e in container["env"]}
        assert env["STC_GRPC_PORT"]["value"] == str(port)
        assert {"STC_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(env)
        requests = container["resources"]["requests"]
        assert requests["cpu"] and requests["memory"]


def test_operators_make_kafka_topics_and_databases_partitioned_for_the_replicas():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "cluster-operators.yaml")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
            for h in _by_kind(docs, "HorizontalPodAutoscaler")}
    assert len(hpas) == 4 and max(hpas.values()) == 12
    topics = {t["spec"]["topicName"]: t["spec"] for t in _by_kind(docs, "KafkaTopic")}
    # every platform topic and its dead-letter topic, the same list as stc_common
    assert set(topics) == {t.name for t in TOPICS} | {t.dlq for t in TOPICS}
    for t in TOPICS:
        # no consumer of a group may sit idle: partitions >= the most pods of any service
        assert topics[t.name]["partitions"] >= max(hpas.values())
        assert topics[t.name]["replicas"] == 3
        assert (topics[t.name].get("config", {}).get("cleanup.policy") == "compact") \
            == t.compacted
    kafka = _by_kind(docs, "Kafka")[0]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert _by_kind(docs, "KafkaNodePool")[0]["spec"]["roles"] == ["controller", "broker"]
    cluster = _by_kind(docs, "Cluster")[0]
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["postgresql"]["parameters"]["synchronous_commit"] == "on"
    assert sorted(d["spec"]["name"] for d in _by_kind(docs, "Database")) == sorted(
        f"stc_{s}" for s in SERVICES)
    for dep in _by_kind(docs, "Deployment"):
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "stc-kafka-kafka-bootstrap:9092"
        assert "@stc-postgres-rw:5432/stc_" in env["STC_DATABASE_URL"]["value"]
        assert "replicas" not in dep["spec"]  # the autoscaler owns the count


def test_external_kafka_gets_a_topic_job_sized_for_the_autoscaled_service():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "external-autoscaled.yaml")
    job = _by_kind(docs, "Job")[0]
    cmd = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[cmd.index("--partitions") + 1] == "16"  # licensing may run 16 pods
    assert not _by_kind(docs, "KafkaTopic") and not _by_kind(docs, "Cluster")


def test_one_machine_runs_one_replica_each():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "one-machine.yaml")
    assert {d["spec"]["replicas"] for d in _by_kind(docs, "Deployment")} == {1}
    assert not _by_kind(docs, "HorizontalPodAutoscaler")


def test_unknown_modes_are_refused_with_the_setting_named():
    cmd = [_helm(), "template", "stc", str(CHART), "--set", "kafka.mode=zookeeper"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "kafka.mode must be external or strimzi" in out.stderr
