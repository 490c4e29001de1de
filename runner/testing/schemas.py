"""Checks of devnet answers against the vendored Ogmios v6.14 and Kupo v2.12 schemas
(read from ``shared/reference`` beside the repository). Upstream schema quirks are patched
here, each with the reason. No test framework is needed: a failed check raises
:class:`AssertionError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

__all__ = ["KUPO", "OGMIOS", "assert_kupo", "assert_ogmios", "kupo_ref"]

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
if not REFERENCE.exists():  # the repository may be checked out elsewhere
    REFERENCE = Path("/work/shared/reference")


def _ogmios_registry() -> Registry:
    ogmios = json.loads((REFERENCE / "ogmios" / "ogmios.json").read_text())
    cardano = json.loads((REFERENCE / "ogmios" / "cardano.json").read_text())
    defs = cardano["definitions"]
    # Upstream quirk: Value's propertyNames only allow policy ids, which rejects the
    # required "ada" key of every value.
    defs["Value"]["propertyNames"] = {"pattern": "^(ada|[0-9a-f]{56})$"}
    # Upstream quirk: Genesis<Byron> requires "protocolParameters" but only defines
    # "updatableParameters" (as Shelley-style ProtocolParameters, while Ogmios and its
    # Python client send BootstrapProtocolParameters there). The devnet sends both.
    byron = defs["Genesis<Byron>"]["properties"]
    byron["updatableParameters"] = {"$ref": "cardano.json#/definitions/BootstrapProtocolParameters"}
    byron["protocolParameters"] = {"$ref": "cardano.json#/definitions/BootstrapProtocolParameters"}
    # Upstream quirk: RpcError requires "string" (a typo for "message") and forbids the
    # "method" that Ogmios echoes in every response.
    rpc = ogmios["properties"]["RpcError"]
    rpc["properties"]["error"]["required"] = ["code", "message"]
    rpc["properties"]["method"] = {"type": "string"}
    return Registry().with_resources([
        ("ogmios.json", Resource.from_contents(ogmios, default_specification=DRAFT7)),
        ("cardano.json", Resource.from_contents(cardano, default_specification=DRAFT7)),
    ])


def _kupo_registry() -> Registry:
    spec = yaml.safe_load((REFERENCE / "kupo" / "openapi-v2.12.0.yaml").read_text())
    # Upstream quirk: Address is an anyOf of oneOf's of plain strings that all match any
    # string (so oneOf always fails); relaxed to a string.
    spec["components"]["schemas"]["Address"] = {"type": "string"}
    # Upstream quirk: Metadata's labels have propertyNames {"type": "integer"}, which no JSON
    # object key (always a string) can satisfy; relaxed to a string of digits.
    spec["components"]["schemas"]["Metadata"]["properties"]["schema"]["propertyNames"] = {
        "type": "string", "pattern": "^-?[0-9]+$"}
    registry: Registry[Any] = Registry().with_resource(
        "kupo.yaml", Resource.from_contents(spec, default_specification=DRAFT202012))
    return registry


OGMIOS = _ogmios_registry()
KUPO = _kupo_registry()


def assert_ogmios(name: str, response: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator({"$ref": f"ogmios.json#/properties/{name}"}, registry=OGMIOS)
    errors = sorted(validator.iter_errors(response), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def assert_kupo(schema: dict[str, Any], body: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema, registry=KUPO)
    errors = list(validator.iter_errors(body))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def kupo_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"kupo.yaml#/components/schemas/{name}"}
