"""What the API schemas cannot see: the chart's manifests agree with each other and with the app."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from hello_birthday import server
from hello_birthday.app import create_app
from hello_birthday.settings import Settings
from tests.helm.chart import CHART, ROOT, VALUE_SETS, Chart, Manifest, kinds, one

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
SETTINGS_SOURCE = ROOT / "src" / "hello_birthday" / "settings.py"
# RSS of the supervisor plus granian's main process, one DynamoDB worker aside (37 + 35 MB),
# measured as the chart's README says; the workers' own figure comes from docs/benchmarks.md.
BASE_RSS_MB = 72.0
HEADROOM = 1.25


def deployment(manifests: list[Manifest]) -> Manifest:
    return one(manifests, "Deployment")


def pod(manifests: list[Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment(manifests)["spec"]["template"]
    return spec


def container(manifests: list[Manifest]) -> dict[str, Any]:
    (app,) = pod(manifests)["spec"]["containers"]
    assert isinstance(app, dict)
    return app


def env(manifests: list[Manifest]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(manifests)["env"]}


def subset(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    path = tmp_path_factory.mktemp("app") / "hello.sqlite3"
    return create_app(Settings(storage="sqlite", sqlite_path=path))


def route_of(app: Flask, endpoint: str) -> str:
    (rule,) = [r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    return rule


# ------------------------------------------------------------------ selectors and references


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_selector_matches_the_pods(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    labels = pod(manifests)["metadata"]["labels"]
    selectors = {"Deployment": deployment(manifests)["spec"]["selector"]["matchLabels"]}
    selectors["Service"] = one(manifests, "Service")["spec"]["selector"]
    for kind in ("PodDisruptionBudget",):
        if kind in kinds(manifests):
            selectors[kind] = one(manifests, kind)["spec"]["selector"]["matchLabels"]
    if "NetworkPolicy" in kinds(manifests):
        selectors["NetworkPolicy"] = one(manifests, "NetworkPolicy")["spec"]["podSelector"][
            "matchLabels"
        ]
    for i, spread in enumerate(pod(manifests)["spec"]["topologySpreadConstraints"]):
        selectors[f"spread {i}"] = spread["labelSelector"]["matchLabels"]
    for name, selector in selectors.items():
        assert selector, f"{name}: an empty selector matches every pod"
        assert subset(selector, labels), f"{name} selects {selector}, pods have {labels}"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_names_and_ports_refer_to_what_exists(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    service = one(manifests, "Service")
    port_names = {p["name"]: p["containerPort"] for p in container(manifests)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(port_names)
    assert port_names["http"] == int(env(manifests)["HELLO_PORT"])
    sa = pod(manifests)["spec"]["serviceAccountName"]
    assert one(manifests, "ServiceAccount")["metadata"]["name"] == sa
    if "HorizontalPodAutoscaler" in kinds(manifests):
        target = one(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == (
            "Deployment",
            deployment(manifests)["metadata"]["name"],
        )
        assert "replicas" not in deployment(manifests)["spec"], "the HPA owns the count"
    if "ServiceMonitor" in kinds(manifests):
        monitor = one(manifests, "ServiceMonitor")["spec"]
        assert subset(monitor["selector"]["matchLabels"], service["metadata"]["labels"])
        service_ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["endpoints"]} <= service_ports
    if "Ingress" in kinds(manifests):
        ingress = one(manifests, "Ingress")
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                if backend["port"].get("name") == "use-annotation":
                    action = f"alb.ingress.kubernetes.io/actions.{backend['name']}"
                    assert action in ingress["metadata"]["annotations"]
                else:
                    assert backend["name"] == service["metadata"]["name"]
                    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


# ---------------------------------------------------------------- capacity and disruptions


def min_replicas(manifests: list[Manifest]) -> int:
    if "HorizontalPodAutoscaler" in kinds(manifests):
        count: int = one(manifests, "HorizontalPodAutoscaler")["spec"]["minReplicas"]
        return count
    replicas: int = deployment(manifests)["spec"]["replicas"]
    return replicas


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_disruption_budget_fits_the_replicas(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    replicas = min_replicas(manifests)
    if replicas < 2:
        # A budget over one pod would block every node drain.
        assert "PodDisruptionBudget" not in kinds(manifests)
        return
    budget = one(manifests, "PodDisruptionBudget")["spec"]
    assert 1 <= budget["maxUnavailable"] < replicas


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_rollouts_never_drop_capacity(rendered: dict[str, list[Manifest]], value_set: str) -> None:
    manifests = rendered[value_set]
    strategy = deployment(manifests)["spec"]["strategy"]
    if env(manifests)["HELLO_STORAGE"] == "sqlite":
        # One volume, one writer: the old pod must be gone before the new one opens the file.
        assert strategy == {"type": "Recreate"}
        assert min_replicas(manifests) == 1
        return
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1
    spreads = pod(manifests)["spec"]["topologySpreadConstraints"]
    zone = [s for s in spreads if s["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zone
    assert zone[0]["maxSkew"] == 1


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def worker_peak_rss_mb() -> float:
    """Peak RSS of one DynamoDB worker in docs/benchmarks.md's start-up and memory table."""
    row = re.search(r"^\| ours-dynamodb-\dt \| [0-9.]+ \| (.+) \|$", BENCHMARKS.read_text(), re.M)
    assert row, "docs/benchmarks.md has no ours-dynamodb memory row"
    return max(float(pair.split("/")[0]) for pair in str(row.group(1)).split(","))


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_memory_is_sized_from_the_benchmark(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    resources = container(manifests)["resources"]
    workers = int(env(manifests)["HELLO_WORKERS"])
    needed_mib = (BASE_RSS_MB + workers * worker_peak_rss_mb()) * 1e6 / 2**20
    request = mebibytes(resources["requests"]["memory"])
    assert request >= HEADROOM * needed_mib, f"{request} MiB for {workers} worker(s)"
    assert mebibytes(resources["limits"]["memory"]) >= request


# ------------------------------------------------------------------- probes and shutdown


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_probes_ask_the_endpoints_the_app_serves(
    rendered: dict[str, list[Manifest]], value_set: str, app: Flask
) -> None:
    manifests = rendered[value_set]
    app_container = container(manifests)
    assert app_container["readinessProbe"]["httpGet"]["path"] == route_of(app, "ops.readyz")
    assert app_container["livenessProbe"]["httpGet"]["path"] == route_of(app, "ops.healthz")
    assert app_container["startupProbe"]["httpGet"]["path"] == route_of(app, "ops.healthz")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert app_container[probe]["httpGet"]["port"] == "http"
    # /readyz may wait for storage that long before it answers.
    storage_timeout = float(env(manifests)["HELLO_STORAGE_TIMEOUT"])
    assert app_container["readinessProbe"]["timeoutSeconds"] > storage_timeout
    annotations = pod(manifests)["metadata"].get("annotations", {})
    if "prometheus.io/path" in annotations:
        assert annotations["prometheus.io/path"] == route_of(app, "ops.metrics")
        assert annotations["prometheus.io/port"] == env(manifests)["HELLO_PORT"]
    if "ServiceMonitor" in kinds(manifests):
        (endpoint,) = one(manifests, "ServiceMonitor")["spec"]["endpoints"]
        assert endpoint["path"] == route_of(app, "ops.metrics")
    if "Ingress" in kinds(manifests):
        ingress_annotations = one(manifests, "Ingress")["metadata"]["annotations"]
        health = ingress_annotations["alb.ingress.kubernetes.io/healthcheck-path"]
        assert health == route_of(app, "ops.readyz")


def longest_clean_stop(manifests: list[Manifest]) -> float:
    """From SIGTERM's sender's view: preStop, drain, shutdown timeout and the kill margin."""
    settings = env(manifests)
    pre_stop = float(container(manifests)["lifecycle"]["preStop"]["sleep"]["seconds"])
    return (
        pre_stop
        + float(settings["HELLO_DRAIN_SECONDS"])
        + float(settings["HELLO_SHUTDOWN_TIMEOUT"])
        + server._KILL_MARGIN_SECONDS
    )


SHUTDOWN_CASES = [
    {},
    {"config.drainSeconds": "0.5", "config.shutdownTimeout": "7.25"},
    {"config.drainSeconds": "30", "config.shutdownTimeout": "60", "shutdown.preStopSeconds": "0"},
]


@pytest.mark.parametrize("overrides", SHUTDOWN_CASES, ids=str)
def test_pre_stop_drain_and_shutdown_fit_in_the_grace_period(
    chart: Chart, overrides: dict[str, str]
) -> None:
    manifests = chart.render("production", **overrides)
    grace = pod(manifests)["spec"]["terminationGracePeriodSeconds"]
    assert grace > longest_clean_stop(manifests), "SIGKILL would cut a clean stop short"
    assert container(manifests)["lifecycle"]["preStop"]["sleep"]["seconds"] >= 0
    # The ALB gives a leaving pod's in-flight requests as long as the pod itself does.
    attributes = one(manifests, "Ingress")["metadata"]["annotations"][
        "alb.ingress.kubernetes.io/target-group-attributes"
    ]
    delay = int(attributes.removeprefix("deregistration_delay.timeout_seconds="))
    settings = env(manifests)
    drain_and_shutdown = float(settings["HELLO_DRAIN_SECONDS"]) + float(
        settings["HELLO_SHUTDOWN_TIMEOUT"]
    )
    assert delay >= math.ceil(drain_and_shutdown)


def test_the_alb_closes_idle_connections_before_the_pod_does(chart: Chart) -> None:
    manifests = chart.render("production")
    attributes = one(manifests, "Ingress")["metadata"]["annotations"][
        "alb.ingress.kubernetes.io/load-balancer-attributes"
    ]
    idle = int(attributes.removeprefix("idle_timeout.timeout_seconds="))
    assert idle < float(env(manifests)["HELLO_KEEP_ALIVE_SECONDS"])
    refused = chart.template("production", **{"config.keepAliveSeconds": "40"})
    assert refused.code != 0
    assert "idleTimeoutSeconds must be below config.keepAliveSeconds" in refused.stderr


# ------------------------------------------------------------------ security and images


def dockerfile_user() -> tuple[int, int]:
    (user,) = re.findall(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(), re.M)
    return int(user[0]), int(user[1])


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pods_run_unprivileged_on_a_read_only_root(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    spec = pod(manifests)["spec"]
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == dockerfile_user()
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(manifests)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in container(manifests)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # The server writes its runtime files (drain marker, metrics) under the pod's /tmp.
    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108
    if env(manifests)["HELLO_STORAGE"] == "sqlite":
        data = volumes[mounts[str(Path(env(manifests)["HELLO_SQLITE_PATH"]).parent)]]
        claim = data["persistentVolumeClaim"]["claimName"]
        assert one(manifests, "PersistentVolumeClaim")["metadata"]["name"] == claim


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_images_are_pinned_and_no_static_keys(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    for c in pod(manifests)["spec"]["containers"] + pod(manifests)["spec"].get(
        "initContainers", []
    ):
        image = c["image"]
        assert not image.endswith(":latest")
        assert "@sha256:" in image or re.search(r":[\w][\w.-]*$", image.split("/")[-1]), image
    assert "Secret" not in kinds(manifests)
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(env(manifests))


def test_the_default_tag_is_the_app_version(rendered: dict[str, list[Manifest]]) -> None:
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert container(rendered["default"])["image"] == f"hello-birthday:{app_version}"


# ------------------------------------------------------------------- settings and network


def test_every_setting_has_a_value(rendered: dict[str, list[Manifest]]) -> None:
    read = set(re.findall(r'"(HELLO_[A-Z_]+)"', SETTINGS_SOURCE.read_text()))
    rendered_env = set(env(rendered["production"])) | set(env(rendered["fixed-replicas"]))
    assert read - rendered_env == set()
    values = (CHART / "values.yaml").read_text()
    assert [name for name in read if f"# {name}" not in values] == []


def test_threads_follow_the_value_or_the_service_default(chart: Chart) -> None:
    assert "HELLO_THREADS" not in env(chart.render("default"))
    assert env(chart.render("default", **{"config.threads": "12"}))["HELLO_THREADS"] == "12"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_network_policy_admits_only_the_configured_peers(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    values = yaml.safe_load((CHART / "ci" / f"{value_set}-values.yaml").read_text())
    peers = values.get("networkPolicy", {}).get("ingressPeers", [])
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["networkPolicy"]
    policy = one(manifests, "NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    admitted = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert admitted == peers + defaults["metricsPeers"]
    for rule in policy["ingress"]:
        assert rule["from"], "a rule without `from` admits everyone"
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


# ---------------------------------------------------------------------- packaged rules


def test_the_prometheus_rule_carries_the_rules_file(
    rendered: dict[str, list[Manifest]], rules_file: Path
) -> None:
    rule = one(rendered["production"], "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(rules_file.read_text())["groups"]


def test_the_prometheus_rule_needs_the_packaged_file(tmp_path: Path) -> None:
    unpacked = Chart(tmp_path, rules=tmp_path / "absent.yml")
    result = unpacked.template("default", **{"metrics.prometheusRule.enabled": "true"})
    assert result.code != 0
    assert "make chart-files" in result.stderr
