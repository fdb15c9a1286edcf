"""Validation of rendered custom resources against their CRDs' strict JSON schemas.

The schemas in tests/crd-schemas/<group>/<kind>_<version>.json come from the datree CRDs-catalog
(MIT licence, see tests/crd-schemas/LICENSE); they set additionalProperties: false, so an unknown
field fails. kubernetes-validate knows no CRDs, hence this helper.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "crd-schemas"


def schema_path(api_version: str, kind: str) -> Path:
    group, _, version = api_version.rpartition("/")
    return SCHEMAS / group / f"{kind.lower()}_{version}.json"


def is_custom(obj: dict[str, Any]) -> bool:
    """Whether the object comes from a CRD: its API group is dotted and not Kubernetes' own (*.k8s.io, but the
    Gateway API's group is a CRD too)."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    builtin = "." not in group or (group.endswith(".k8s.io") and group != "gateway.networking.k8s.io")
    return not builtin


@cache
def _validator(path: Path) -> Any:
    import jsonschema

    schema = json.loads(path.read_text())
    # the draft the file names; these files name none and are written for draft 7 (openapi2jsonschema)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def crd_problems(obj: dict[str, Any]) -> list[str]:
    """Every way the object breaks its CRD schema (empty when it validates); a kind without a schema is a problem."""
    path = schema_path(obj["apiVersion"], obj["kind"])
    name = f"{obj['kind']} {obj.get('metadata', {}).get('name')}"
    if not path.exists():
        return [f"{name}: no CRD schema for {obj['apiVersion']} {obj['kind']} in {SCHEMAS} (add one)"]
    return [f"{name}: {'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(_validator(path).iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]


def assert_crd_valid(obj: dict[str, Any]) -> None:
    problems = crd_problems(obj)
    assert not problems, "\n".join(problems)


def custom_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if is_custom(o)]
