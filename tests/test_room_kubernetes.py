"""The room on Kubernetes (deploy/kubernetes/): what can be checked without a cluster.

Zero to JupyterHub 4.4.0's values schema is in ``tests/fixtures/z2jh-4.4.0/`` (made from the chart's
``values.schema.yaml`` at that tag, as the chart packages it: descriptions dropped), with the
chart's default values: helm validates the merge of both, and so does this test. What is not
checked here (no cluster, no container engine): that the image builds and that the chart deploys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jsonschema
import pytest
import yaml

from looplab.project import REPOSITORY, ROOT
from looplab.room.settings import FACILITATE, FACILITATOR, NAME_PATTERN, SERVICE, roles

DEPLOY = ROOT / "deploy" / "kubernetes"
CHART = ROOT / "tests" / "fixtures" / "z2jh-4.4.0"


def helm_merge(defaults, overrides):
    """Helm's rule for -f values files: maps merge key by key, anything else is replaced."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        return {**defaults, **{k: helm_merge(defaults[k], v) if k in defaults else v for k, v in overrides.items()}}
    return overrides


def schema_errors(values: dict) -> list[str]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    merged = helm_merge(yaml.safe_load((CHART / "values.yaml").read_text()), values)
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(merged)]


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def test_the_values_file_is_valid_for_the_chart(values):
    assert schema_errors(values) == []


@pytest.mark.parametrize("mistake", [
    {"singleuser": {"memroy": {"limit": "2G"}}},  # a typo the chart would silently ignore without its schema
    {"singleuser": {"memory": {"limit": ["2G"]}}},
    {"cull": {"timeout": "an hour"}},
    {"proxy": {"https": {"enabled": "yes"}}},
])
def test_the_schema_check_sees_a_wrong_values_file(values, mistake):
    assert schema_errors(helm_merge(values, mistake))


def test_the_cluster_room_has_the_same_roles_login_and_service_as_the_machine_room(values):
    hub = values["hub"]
    assert {name: role for name, role in hub["loadRoles"].items()} == roles()
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    assert list(hub["config"]["JupyterHub"]["custom_scopes"]) == [FACILITATE]
    assert hub["config"]["Authenticator"]["admin_users"] == [FACILITATOR]
    assert hub["config"]["Authenticator"]["username_pattern"] == NAME_PATTERN
    assert hub["services"][SERVICE]["oauth_client_allowed_scopes"] == [FACILITATE]
    for code in ("user_password", "admin_password"):  # never a real code in the repository
        assert hub["config"]["SharedPasswordAuthenticator"][code] == ""


def test_learners_pull_the_workshops_repository_and_report_to_the_live_view(values):
    link = urlparse(values["singleuser"]["defaultUrl"])
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert link.path == "/git-pull" and query["repo"] == REPOSITORY and query["targetpath"] == "looplab"
    assert values["singleuser"]["extraEnv"]["LOOPLAB_ROOM_URL"] == f"http://looplab-room:10101/services/{SERVICE}/"
    assert values["cull"]["enabled"] is True
    egress = values["singleuser"]["networkPolicy"]["egress"][0]
    assert egress["ports"] == [{"port": 10101, "protocol": "TCP"}]


def test_the_live_view_pod_gets_what_the_service_reads():
    documents = list(yaml.safe_load_all((DEPLOY / "live-view.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert container["command"] == ["python", "-m", "looplab.room.service"]
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == f"hub.services.{SERVICE}.apiToken"
    service_source = (ROOT / "looplab" / "room" / "service.py").read_text()
    for name in re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z_]+)"', service_source):
        assert name in env, f"service.py reads {name}, the pod does not set it"
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == f"/services/{SERVICE}/"


def test_the_image_is_built_from_the_locks_like_the_machine_room():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    run_py = (ROOT / "run.py").read_text()
    uv_version = re.search(r'UV_VERSION = "([^"]+)"', run_py)[1]
    assert f"ARG UV_VERSION={uv_version}" in dockerfile
    assert "uv sync --locked" in dockerfile and "looplab.real.envs" in dockerfile
    assert "looplab/room/jupyterlab-overrides.json" in dockerfile
    assert 'CMD ["python", "-m", "looplab.room.singleuser"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv*" in ignored and ".git" in ignored


def test_the_repository_address_is_one_value():
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^repo_url: (\S+)", mkdocs, re.MULTILINE)[1] == REPOSITORY
    assert REPOSITORY.endswith("/" + re.search(r"^repo_name: (\S+)", mkdocs, re.MULTILINE)[1])
    assert Path(CHART / "values.schema.json").exists()
