"""deploy/helm/stc renders for every values file and every manifest validates offline.

Built-in kinds (Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, Job) are
checked with kubernetes-validate against the Kubernetes schemas it ships (strict: unknown
fields fail). The operators' custom resources (Strimzi, CloudNativePG) have no schema there:
their fields that the platform depends on are asserted here instead.

Calls are balanced per call, not per connection (issue 14 item 5): every service also has a
headless Service (clusterIP None, its gRPC port, the same pods), and the edge Deployment points
Envoy at those names, so the Envoy configuration it generates from its rendered environment has
a STRICT_DNS cluster per service (every pod an endpoint); in-cluster clients get `dns:///`
targets on them. The edge has readiness (/healthz), liveness (/livez) and startup probes, a
PodDisruptionBudget, an autoscaler and an Ingress when the values ask.

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
from stc_edge.config import EdgeSettings
from stc_edge.envoy import build_config

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


def _render(values: Path | None, *sets: str, release: str = "stc") -> list[dict]:
    cmd = [_helm(), "template", release, str(CHART), "--kube-version", K8S_VERSION]
    if values is not None:
        cmd += ["-f", str(values)]
    for s in sets:
        cmd += ["--set", s]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def _services(docs: list[dict]) -> list[dict]:
    """The four services' Deployments (not the edge's)."""
    return [d for d in _by_kind(docs, "Deployment")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] in SERVICES]


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
                  for d in deployments) == sorted([*SERVICES, "edge"])
    assert len(_by_kind(docs, "PodDisruptionBudget")) == 5
    # 5 × (Deployment, Service, PodDisruptionBudget), 4 headless Services, the clients' ConfigMap
    assert checked >= 20


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda v: v.name if v else "defaults")
def test_probes_are_grpc_and_resources_are_requested(values):
    for dep in _services(_render(values)):
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
    assert len(hpas) == 5 and max(hpas.values()) == 12  # the four services and the edge
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
    for dep in _services(docs):
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "stc-kafka-kafka-bootstrap:9092"
        assert "@stc-postgres-rw:5432/stc_" in env["STC_DATABASE_URL"]["value"]
        assert "replicas" not in dep["spec"]  # the autoscaler owns the count
    # the edge's pods are not consumers: they do not raise the partition count
    assert hpas["stc-edge"] == 8


def test_external_kafka_gets_a_topic_job_sized_for_the_autoscaled_service():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "external-autoscaled.yaml")
    job = _by_kind(docs, "Job")[0]
    cmd = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[cmd.index("--partitions") + 1] == "16"  # licensing may run 16 pods
    assert not _by_kind(docs, "KafkaTopic") and not _by_kind(docs, "Cluster")


def test_one_machine_runs_one_replica_each():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "one-machine.yaml")
    assert {d["spec"]["replicas"] for d in _by_kind(docs, "Deployment")} == {1}  # and the edge
    assert not _by_kind(docs, "HorizontalPodAutoscaler")


def test_unknown_modes_are_refused_with_the_setting_named():
    cmd = [_helm(), "template", "stc", str(CHART), "--set", "kafka.mode=zookeeper"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "kafka.mode must be external or strimzi" in out.stderr


def _named(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in _by_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def _env(dep: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}


def _grpc_port(dep: dict) -> int:
    ports = dep["spec"]["template"]["spec"]["containers"][0]["ports"]
    return next(p["containerPort"] for p in ports if p["name"] == "grpc")


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda v: v.name if v else "defaults")
def test_every_service_has_a_headless_service_on_its_grpc_port(values):
    docs = _render(values)
    for dep in _services(docs):
        name = dep["metadata"]["name"]
        headless = _named(docs, "Service", f"{name}-headless")
        spec = headless["spec"]
        assert spec["clusterIP"] == "None"  # DNS answers every pod, not one virtual address
        assert spec.get("publishNotReadyAddresses", False) is False  # ready pods only
        # the same pods as the ClusterIP Service and the Deployment
        assert spec["selector"] == _named(docs, "Service", name)["spec"]["selector"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"].items() <= pod_labels.items()
        (port,) = spec["ports"]
        assert port["name"] == "grpc" and port["port"] == _grpc_port(dep)
        assert port["targetPort"] == "grpc" and port["appProtocol"] == "grpc"
        # the ClusterIP Service stays (probes, port-forward, clients that want one address)
        assert "clusterIP" not in _named(docs, "Service", name)["spec"]
        env = _env(dep)
        # connections recycled so that dns:/// clients resolve again and find new pods
        assert 0 < int(env["STC_GRPC_MAX_CONNECTION_AGE_S"]) <= 3600
        pod = dep["spec"]["template"]["spec"]
        sleep = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep" and int(sleep[1]) < pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda v: v.name if v else "defaults")
def test_the_edge_balances_over_the_headless_names_with_probes(values, tmp_path, monkeypatch):
    docs = _render(values)
    edge = _named(docs, "Deployment", "stc-edge")
    pod = edge["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    # the image and entry point docker-compose runs (deploy/docker/edge.Dockerfile)
    assert c["image"].rsplit(":", 1)[0].endswith("/stc-edge") and c["args"] == ["serve"]
    env = _env(edge)
    (http,) = c["ports"]
    assert http["name"] == "http" and str(http["containerPort"]) == env["STC_EDGE_PORT"]
    assert env["STC_EDGE_HOST"] == "0.0.0.0"
    # workers for the pod's CPU, not one per core of the node
    assert 1 <= int(env["STC_EDGE_CONCURRENCY"]) <= 4
    limit = str(c["resources"]["limits"]["cpu"])  # no more workers than cores to run on
    cores = int(limit[:-1]) / 1000 if limit.endswith("m") else float(limit)
    assert int(env["STC_EDGE_CONCURRENCY"]) <= cores
    headless = {d["metadata"]["name"]: d for d in _by_kind(docs, "Service")
                if d["spec"].get("clusterIP") == "None"}
    for svc in SERVICES:
        host, port = env[f"STC_{svc.upper()}_ADDR"].rsplit(":", 1)
        assert host == f"stc-{svc}-headless" and host in headless
        assert int(port) == headless[host]["spec"]["ports"][0]["port"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert c["startupProbe"]["httpGet"]["port"] == "http"
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]  # the Envoy config dir
    assert env["STC_EDGE_CONFIG_DIR"].startswith("/tmp/")
    selector = edge["spec"]["selector"]["matchLabels"]
    assert _named(docs, "PodDisruptionBudget", "stc-edge")["spec"]["selector"][
        "matchLabels"] == selector
    service = _named(docs, "Service", "stc-edge")["spec"]
    assert service["selector"] == selector and service["ports"][0]["targetPort"] == "http"
    # what the edge will run: its Envoy configuration from this very environment
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = build_config(EdgeSettings(portal_dir=tmp_path, config_dir=tmp_path))
    clusters = {cl["name"]: cl for cl in cfg["static_resources"]["clusters"]}
    for svc in SERVICES:
        assert clusters[svc]["type"] == "STRICT_DNS"  # every pod the name lists, per call
        (ep,) = clusters[svc]["load_assignment"]["endpoints"][0]["lb_endpoints"]
        assert ep["endpoint"]["address"]["socket_address"]["address"] == f"stc-{svc}-headless"
        assert clusters[svc]["dns_refresh_rate"] == f"{float(env['STC_EDGE_DNS_REFRESH_SECONDS']):g}s"


def test_the_cluster_layout_autoscales_the_edge_behind_an_ingress():
    docs = _render(ROOT / "deploy" / "helm" / "values" / "cluster-operators.yaml")
    hpa = _named(docs, "HorizontalPodAutoscaler", "stc-edge")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "stc-edge"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 8)
    assert "replicas" not in _named(docs, "Deployment", "stc-edge")["spec"]
    assert _named(docs, "PodDisruptionBudget", "stc-edge")["spec"]["minAvailable"] == 2
    ingress = _named(docs, "Ingress", "stc-edge")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["stc.example.org"], "secretName": "stc-edge-tls"}]
    (rule,) = ingress["rules"]
    assert rule["host"] == "stc.example.org"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["backend"]["service"] == {
        "name": "stc-edge", "port": {"name": "http"}}
    assert {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"} in (
        _named(docs, "Service", "stc-edge")["spec"]["ports"])


def test_clients_get_dns_targets_on_the_headless_services():
    data = _named(_render(None), "ConfigMap", "stc-grpc-clients")["data"]
    assert data["STC_LICENSING_ADDR"] == "dns:///stc-licensing-headless:50051"
    assert data["STC_CREDIT_ADDR"] == "dns:///stc-credit-headless:50054"
    assert data["STC_EDGE_ADDR"] == "stc-edge:8080"


def test_cluster_ip_addressing_and_no_edge_still_validate():
    docs = _render(None, "grpcAddressing=clusterIP")
    assert _env(_named(docs, "Deployment", "stc-edge"))["STC_SCREENING_ADDR"] == (
        "stc-screening:50052")  # the ClusterIP Service: one address, kube-proxy per connection
    data = _named(docs, "ConfigMap", "stc-grpc-clients")["data"]
    assert data["STC_SCREENING_ADDR"] == "stc-screening:50052"
    docs = _render(None, "edge.enabled=false")
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert "edge" not in doc["metadata"]["name"], doc["kind"]
    assert "STC_EDGE_ADDR" not in _named(docs, "ConfigMap", "stc-grpc-clients")["data"]
    assert len(_by_kind(docs, "Service")) == 8  # the headless Services do not need the edge


def test_an_unknown_addressing_is_refused_with_the_setting_named():
    cmd = [_helm(), "template", "stc", str(CHART), "--set", "grpcAddressing=nodePort"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert 'grpcAddressing must be headless or clusterIP, not "nodePort"' in out.stderr


def test_a_long_release_name_keeps_every_service_name_a_dns_label():
    release = "export-control-authority-production-cluster-nr-1"  # 48 of helm's 53
    docs = _render(None, release=release)
    names = {d["metadata"]["name"] for d in _by_kind(docs, "Service")}
    assert len(names) == 9 and all(len(n) <= 63 for n in names), sorted(names)
    env = _env(next(d for d in _by_kind(docs, "Deployment")
                    if d["metadata"]["name"].endswith("-edge")))
    for svc in SERVICES:  # the edge still names Services that exist
        assert env[f"STC_{svc.upper()}_ADDR"].rsplit(":", 1)[0] in names
