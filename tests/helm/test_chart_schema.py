"""helm lint, the values schema, and the rendered manifests against the Kubernetes API schemas."""

from __future__ import annotations

import pytest
from kubernetes_validate import utils as kubernetes_validate

from tests.helm.chart import VALUE_SETS, Chart, Manifest

# The oldest version the chart supports (Chart.yaml kubeVersion) and the newest with schemas here.
KUBERNETES_VERSIONS = ("1.32", "1.37")
# Prometheus Operator resources: no API schema ships for them; tests/helm/test_chart_policy.py
# checks what they must say.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict(chart: Chart, value_set: str) -> None:
    result = chart.helm("lint", "--strict", str(chart.path), *chart.values_args(value_set, {}))
    assert result.code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_manifests_match_the_kubernetes_api(
    rendered: dict[str, list[Manifest]], value_set: str, version: str
) -> None:
    checked = 0
    for manifest in rendered[value_set]:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(map(str, error.path))
            pytest.fail(f"{manifest['kind']} {path}: {error.message}")
        checked += 1
    assert checked >= 4


# (overrides, what the schema must name in its refusal)
REFUSED = {
    "sqlite with two replicas": (
        {"config.storage": '"sqlite"', "replicaCount": "2", "autoscaling.enabled": "false"},
        "replicaCount",
    ),
    "sqlite with the autoscaler": (
        {"config.storage": '"sqlite"', "replicaCount": "1", "autoscaling.enabled": "true"},
        "autoscaling.enabled",
    ),
    "dynamodb without a region": ({"config.awsRegion": '""'}, "config.awsRegion"),
    "latest tag": ({"image.tag": '"latest"'}, "image.tag"),
    "unknown setting": ({"config.drainSecond": "5"}, "drainSecond"),
    "drain too long": ({"config.drainSeconds": "301"}, "config.drainSeconds"),
    "shutdown timeout zero": ({"config.shutdownTimeout": "0"}, "config.shutdownTimeout"),
    "bad log level": ({"config.logLevel": '"LOUD"'}, "config.logLevel"),
    "bad storage": ({"config.storage": '"postgres"'}, "config.storage"),
    "jwt without issuer": (
        {
            "config.auth": '"jwt"',
            "config.jwtJwksUrl": '"https://idp.example/jwks.json"',
            "config.jwtAudience": '"a"',
        },
        "config.jwtIssuer",
    ),
    "jwt keys over http": (
        {
            "config.auth": '"jwt"',
            "config.jwtJwksUrl": '"http://idp.example/jwks.json"',
            "config.jwtIssuer": '"i"',
            "config.jwtAudience": '"a"',
        },
        "config.jwtJwksUrl",
    ),
    "reads required without auth": ({"config.authReads": '"required"'}, "config.authReads"),
    "ingress without certificate": (
        {"ingress.enabled": "true", "ingress.host": '"hello.example.com"'},
        "ingress.certificateArn",
    ),
    "one-pod autoscaler": ({"autoscaling.minReplicas": "1"}, "autoscaling.minReplicas"),
    "a HELLO_ variable in extraEnv": (
        {"extraEnv": '[{"name": "HELLO_PORT", "value": "1"}]'},
        "extraEnv.0.name",
    ),
    "privileged port": ({"config.port": "80"}, "config.port"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_values_schema_refuses(chart: Chart, case: str) -> None:
    overrides, field = REFUSED[case]
    result = chart.template("default", **overrides)
    assert result.code != 0, f"{case}: rendered"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert field in result.stderr


def test_every_value_set_passes_the_schema(rendered: dict[str, list[Manifest]]) -> None:
    assert set(rendered) >= {"default", "production", "sqlite-demo"}
