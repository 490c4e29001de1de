"""infra/docker-compose.yml is a valid Compose file (against the Compose specification's JSON
schema, vendored in infra/schema/) with pinned images, health checks, volumes and the guide's
ports.  Docker is not available here: this is a static check, not a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

INFRA = Path(__file__).resolve().parent.parent / "infra"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    value = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    assert isinstance(value, dict)
    return value


def schema() -> dict[str, Any]:
    value = json.loads((INFRA / "schema" / "compose-spec.json").read_text())
    assert isinstance(value, dict)
    return value


def test_the_file_validates_against_the_compose_specification(compose):
    validator = jsonschema.Draft201909Validator(schema())
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_schema_check_can_fail():
    validator = jsonschema.Draft201909Validator(schema())
    broken = {"services": {"ogmios": {"image": "x", "ports": [{"target": "not a port"}], "healthcheck": {"bad": 1}}}}
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize("network", ["preview", "preprod"])
def test_each_network_has_node_ogmios_kupo_with_health_checks_and_volumes(compose, network):
    services = {name: s for name, s in compose["services"].items() if s.get("profiles") == [network]}
    assert set(services) == {f"node-{network}", f"ogmios-{network}", f"kupo-{network}"}
    for service in services.values():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), image
        assert service["healthcheck"]["test"] and service["volumes"]
    assert services[f"ogmios-{network}"]["image"] == "cardanosolutions/ogmios:v6.14.0"
    assert services[f"ogmios-{network}"]["ports"] == ["1337:1337"]
    assert services[f"kupo-{network}"]["ports"] == ["1442:1442"]
    assert "--prune-utxo" not in services[f"kupo-{network}"]["command"]  # discovery needs spent history
    assert services[f"node-{network}"]["environment"]["NETWORK"] == network
