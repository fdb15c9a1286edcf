"""The agent's fields are listed once (helmgen/spec/fields.py AGENT_FIELDS); every other list of them must
hold the same keys. No Helm: each check names the field and the place that lacks it (or has it too many).

Adding an agent field means: a row in AGENT_FIELDS, then the places these tests name."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from helmgen.chart.readme import _doc_cell
from helmgen.chart.schema import values_schema
from helmgen.chart.values import AGENT_DEFAULTS, DOCS, agent_values
from helmgen.spec.check import check_tree
from helmgen.spec.fields import AGENT_FIELDS, SECRET_DOCS, SPEC_DOCS, agent_type, json_schema, spec_type
from helmgen.spec.load import parse_text
from helmgen.spec.model import POD_FIELDS, Agent
from helmgen.spec.types import Obj, Union
from tests.conftest import ROOT

TABLE = "AGENT_FIELDS (helmgen/spec/fields.py)"
# keys of the spec (a row with a type) and of values.yaml (a row whose values flag is set)
SPEC_KEYS = {k for k, f in AGENT_FIELDS.items() if f.type is not None}
VALUES_KEYS = {k for k, f in AGENT_FIELDS.items() if f.values}
# Agent (helmgen/spec/model.py) holds the values keys except: POD_FIELDS, kept together in Agent.pod;
# primaryPort, which is Agent.primary_port (the first of ports). It adds `name` (the key in agents), `pod`
# `tracks` (the rollout's canary or blue-green versions, derived from rollout; the templates derive
# them again from values) and `calls` (the agents its ${agents.…} references name: the README diagram).
MODEL_KEYS = VALUES_KEYS - set(POD_FIELDS) - {"primaryPort"}
MODEL_ONLY = {"name", "pod", "tracks", "calls"}


def _spec_agent() -> Agent:
    text = ("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"
            "agents:\n  planner:\n    image: ghcr.io/acme/planner:1.0\n    port: 8080\n")
    return check_tree(parse_text(text, "demo.yaml"), "demo.yaml").agents["planner"]


def _docs_table() -> dict[str, str]:
    """docs/spec.md's agent field table: field -> description cell."""
    text = (ROOT / "docs" / "spec.md").read_text()
    start = text.index("\n| field | description |\n")
    rows = {}
    for line in text[start:].splitlines()[3:]:
        if not line.startswith("| `"):
            break
        m = re.fullmatch(r"\| `([^`]+)` \| (.*) \|", line)
        assert m, line
        rows[m[1]] = m[2]
    return rows


def _template_keys() -> set[str]:
    """The keys agentgen.completeAgent (templates/_defaults.tpl) sets on an agent added in a values file."""
    tpl = (ROOT / "chart-skeleton" / "templates" / "_defaults.tpl").read_text()
    return set(re.findall(r'set \$a "(\w+)"', tpl))


# each place that lists the agent's fields: (what it is, its keys, the keys the table says it must have,
# whether it may hold fewer: the defaults are only some of the fields)
PLACES: dict[str, Callable[[], tuple[set[str], set[str], bool]]] = {
    "the spec type (helmgen/spec/fields.py agent_type)": lambda: (set(agent_type(()).fields), SPEC_KEYS, False),
    "the published schema's definitions.agent (helmgen schema)": lambda: (
        set(json_schema()["definitions"]["agent"]["properties"]), SPEC_KEYS, False),
    "the published schema's definitions.agentOverrides": lambda: (
        set(json_schema()["definitions"]["agentOverrides"]["properties"]), SPEC_KEYS, False),
    "the model (helmgen/spec/model.py Agent, minus name, pod and tracks)": lambda: (
        {f.name for f in dataclasses.fields(Agent)} - MODEL_ONLY, MODEL_KEYS, False),
    "the model's POD_FIELDS (helmgen/spec/model.py)": lambda: (set(POD_FIELDS), VALUES_KEYS, True),
    "the values tree (helmgen/chart/values.py agent_values)": lambda: (set(agent_values(_spec_agent())), VALUES_KEYS,
                                                                        False),
    "values.schema.json definitions.agent (helmgen/chart/schema.py agent_schema)": lambda: (
        set(values_schema()["definitions"]["agent"]["properties"]), VALUES_KEYS, False),
    "values.schema.json agentDefaults": lambda: (set(values_schema()["properties"]["agentDefaults"]["properties"]),
                                                 VALUES_KEYS, False),
    "values.yaml's agentDefaults (helmgen/chart/values.py AGENT_DEFAULTS)": lambda: (set(AGENT_DEFAULTS), VALUES_KEYS,
                                                                                     True),
    "the keys templates/_defaults.tpl completeAgent sets": lambda: (_template_keys(), VALUES_KEYS, True),
    "values.yaml comments / chart README rows (helmgen/chart/values.py DOCS agents.*.<field>)": lambda: (
        {k.split(".")[2] for k in DOCS if re.fullmatch(r"agents\.\*\.[^.]+", k)}, VALUES_KEYS, False),
    "docs/spec.md's agent field table (section Agents)": lambda: (set(_docs_table()), SPEC_KEYS, False),
}


@pytest.mark.parametrize("place", PLACES)
def test_every_list_of_agent_fields_holds_the_table_s_keys(place: str) -> None:
    keys, expected, subset = PLACES[place]()
    problems = [f"agent field {k!r} is in {TABLE} but missing from {place}" for k in sorted(expected - keys)
                if not subset]
    problems += [f"agent field {k!r} is in {place} but missing from {TABLE}" for k in sorted(keys - expected)]
    assert not problems, "\n".join(problems)


def test_every_row_has_a_one_line_description_and_the_docs_table_says_it() -> None:
    docs = _docs_table()
    for k, f in AGENT_FIELDS.items():
        assert f.doc.strip() and "\n" not in f.doc and f.doc.endswith("."), f"{k}: its description in {TABLE}"
        if f.type is not None and k in docs:
            assert docs[k] == _doc_cell(f.doc), (f"docs/spec.md's row for {k!r} differs from {TABLE}; write\n"
                                                 f"| `{k}` | {_doc_cell(f.doc)} |")
    assert list(docs) == [k for k, f in AGENT_FIELDS.items() if f.type is not None], "docs/spec.md: the table's order"


def _described(schema: dict[str, Any], where: str) -> list[str]:
    return [f"{where}.{k}" for k, v in schema["properties"].items() if not v.get("description")]


def test_the_published_schema_describes_every_field_and_holds_the_agent_once() -> None:
    s = json_schema()
    jsonschema.Draft7Validator.check_schema(s)
    agent = s["definitions"]["agent"]
    missing = _described(s, "spec") + _described(agent, "agent") + _described(s["definitions"]["agentOverrides"],
                                                                              "agentOverrides")
    secret = s["properties"]["secrets"]["additionalProperties"]
    env = s["properties"]["environments"]["additionalProperties"]
    missing += _described(secret, "secrets.<secret>") + _described(env, "environments.<env>")
    assert missing == []
    for k, f in AGENT_FIELDS.items():
        if f.type is not None:
            assert agent["properties"][k]["description"] == f.doc
    assert {k: v["description"] for k, v in s["properties"].items()} == SPEC_DOCS
    assert {k: v["description"] for k, v in secret["properties"].items()} == SECRET_DOCS
    # defaults, agents and an environment's defaults and agents refer to the one definition
    text = json.dumps(s)
    assert text.count('"talksTo"') == 2  # in definitions.agent and definitions.agentOverrides, nowhere else
    assert s["properties"]["defaults"]["allOf"] == [{"$ref": "#/definitions/agent"}]
    assert s["properties"]["agents"]["additionalProperties"] == {"$ref": "#/definitions/agent"}
    assert env["properties"]["defaults"]["allOf"] == [{"$ref": "#/definitions/agentOverrides"}]
    assert env["properties"]["agents"]["additionalProperties"] == {"$ref": "#/definitions/agentOverrides"}
    assert set(spec_type().fields) == set(SPEC_DOCS)


def test_the_published_schema_file_is_the_one_helmgen_prints() -> None:
    published = json.loads((ROOT / "schemas" / "agentgen-v1.schema.json").read_text())
    assert published == json_schema(), "regenerate it: .venv/bin/helmgen schema > schemas/agentgen-v1.schema.json"


def test_the_schemas_judge_environment_overrides_as_the_agent() -> None:
    v = jsonschema.Draft7Validator(json_schema())
    base: dict[str, Any] = {"apiVersion": "agentgen/v1", "name": "demo", "version": "0.1.0",
                            "agents": {"a": {"image": "nginx", "port": 80}}}

    def with_env(agent: dict[str, Any]) -> dict[str, Any]:
        return {**base, "environments": {"dev": {"defaults": agent, "agents": {"a": agent}}}}

    assert v.is_valid(base)
    assert v.is_valid(with_env({"replicas": 2, "port": None, "health": None}))
    assert not v.is_valid(with_env({"replicas": -1}))
    assert not v.is_valid(with_env({"replicass": 1}))
    assert not v.is_valid({**base, "defaults": {"replicas": "two"}})
    assert not v.is_valid({**base, "agents": {"a": {"image": "nginx", "talksTo": "b"}}})


def test_values_schema_describes_every_agent_field_with_its_values_comment() -> None:
    s = values_schema()
    jsonschema.Draft7Validator.check_schema(s)
    agent = s["definitions"]["agent"]["properties"]
    defaults = s["properties"]["agentDefaults"]["properties"]
    for k, f in AGENT_FIELDS.items():
        if f.values:
            text = f"{f.doc} {f.note}" if f.note else f.doc
            assert agent[k]["description"] == " ".join(text.split()), k
            assert defaults[k]["description"] == agent[k]["description"], k
    assert [k for k, v in s["properties"].items() if not v.get("description")] == []
    secret = s["properties"]["secrets"]["additionalProperties"]["properties"]
    assert {k: secret[k]["description"] for k in SECRET_DOCS} == SECRET_DOCS


def test_values_schema_descriptions_leave_the_shared_building_blocks_alone() -> None:
    from helmgen.chart import schema

    before = json.dumps([schema.STR, schema.BOOL, schema.PROBE, schema.STR_MAP, schema.STRS], sort_keys=True)
    values_schema()
    assert json.dumps([schema.STR, schema.BOOL, schema.PROBE, schema.STR_MAP, schema.STRS], sort_keys=True) == before
    # a described property is a copy: `enabled` (BOOL) is described, `tests.enabled` (BOOL too) as itself
    s = values_schema()
    assert s["definitions"]["agent"]["properties"]["enabled"]["description"].startswith("false: render nothing")
    assert s["properties"]["tests"]["properties"]["enabled"]["description"] == "false: render no test pods."


def test_values_yaml_comment_is_the_description_then_the_note(tmp_path: Path) -> None:
    for k, f in AGENT_FIELDS.items():
        if f.values:
            assert DOCS[f"agents.*.{k}"].startswith(f.doc), k
        else:
            assert f"agents.*.{k}" not in DOCS, k


# sub-fields the spec takes that values.yaml has not: shorthands folded into others (resources.cpu/memory
# become requests, gpu a limit) and rollout settings the checker refuses until canary and blueGreen exist
SPEC_ONLY_SUBFIELDS = {"resources": {"cpu", "memory", "gpu"}}


def _spec_object(name: str) -> Obj | None:
    t = AGENT_FIELDS[name].type
    alts = t.alts if isinstance(t, Union) else (t,)
    return next((a for a in alts if isinstance(a, Obj)), None)


def _object_fields() -> list[str]:
    agent = values_schema()["definitions"]["agent"]["properties"]
    return [k for k in AGENT_FIELDS if AGENT_FIELDS[k].type is not None and
            (_spec_object(k) is not None or "properties" in agent.get(k, {}))]


@pytest.mark.parametrize("name", _object_fields())
def test_sub_fields_match_between_spec_values_schema_and_comments(name: str) -> None:
    obj = _spec_object(name)
    spec = set(obj.fields) if obj else set()
    spec_only = SPEC_ONLY_SUBFIELDS.get(name, set())
    schema = set(values_schema()["definitions"]["agent"]["properties"].get(name, {}).get("properties", {}))
    docs = {k.split(".")[3] for k in DOCS if re.fullmatch(rf"agents\.\*\.{name}\.[^.]+", k)}
    where = {f"the spec type ({name} in helmgen/spec/fields.py)": spec - spec_only,
             "values.schema.json (helmgen/chart/schema.py agent_schema)": schema,
             "values.yaml comments (helmgen/chart/values.py AGENT_SUB_DOCS)": docs}
    problems = [f"{name}.{k} is in {a} but missing from {b}" for a, ka in where.items() for b, kb in where.items()
                for k in sorted(ka - kb)]
    problems += [f"{name}.{k} is in values.schema.json now: drop it from SPEC_ONLY_SUBFIELDS in {__name__}"
                 for k in sorted(spec_only & schema)]
    assert not problems, "\n".join(problems)


def test_docs_top_level_table_lists_the_spec_s_fields() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    section = text[text.index("\n## Top-level fields\n"):text.index("\n## Agents\n")]
    documented = re.findall(r"^\| `([^`]+)` \|", section, re.M)
    spec = list(spec_type().fields)
    assert [k for k in spec if k not in documented] == [], "missing from docs/spec.md's top-level table"
    assert [k for k in documented if k not in spec] == [], "in docs/spec.md's top-level table, not in spec_type"


@pytest.mark.parametrize("name", _object_fields())
def test_the_published_schema_describes_each_sub_field(name: str) -> None:
    prop = json_schema()["definitions"]["agent"]["properties"][name]
    subs = {k: v for o in [prop, *prop.get("anyOf", [])] for k, v in o.get("properties", {}).items()}
    spec_only = SPEC_ONLY_SUBFIELDS.get(name, set()) - {"cpu", "memory", "gpu"}  # resources' shorthands have theirs
    missing = [f"{name}.{k}" for k, v in subs.items() if not v.get("description") and k not in spec_only]
    assert missing == [], "no description (values.yaml's comment in AGENT_SUB_DOCS, or docs= on the spec's Obj)"
    for k, v in subs.items():
        if f"agents.*.{name}.{k}" in DOCS and k not in ("cpu", "memory", "gpu"):
            assert v["description"] == " ".join(DOCS[f"agents.*.{name}.{k}"].split())
