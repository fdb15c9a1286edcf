"""The chart README as a reader sees it: rendered by a real Markdown renderer (markdown-it-py, tables on,
raw HTML allowed as on GitHub) and the topology diagram read by Mermaid's own parser (node, with the
packages of tests/node/package.json that scripts/test.sh installs into .cache/node)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from helmgen.chart.readme import render_readme
from helmgen.chart.values import DOCS
from helmgen.spec.check import load_spec
from helmgen.spec.model import Spec
from tests.conftest import EXAMPLES, ROOT, SPECS

NODE_DIR = ROOT / ".cache" / "node"
MERMAID_CHECK = ROOT / "tests" / "node" / "mermaid-check.mjs"
ALL_SPECS = [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))]

# Free text that Markdown (and HTML inside Markdown) would otherwise eat, turn into markup or split.
NASTY = [
    "<release>-<agent> and <script>alert(1)</script> and <https://example.org> and <br> a tag",
    "a | pipe, an escaped \\| pipe, a trailing backslash \\",
    "*not emphasis* _nor this_ **nor bold** ~~nor struck~~ `not code` [not a link](https://x.org) ![no image](x.png)",
    "&amp; &copy; &#35; &lt;kept&gt; as written",
    "# not a heading",
    "- not a list item",
    "1. not a numbered item",
    "> not a quote",
    "---",
    "+ plus",
    "=== not an underline",
    "{{ .Release.Name }} and $VALUE and 100%",
]


class _Html(HTMLParser):
    """Visible text of rendered HTML: the whole page, each paragraph, and each table's cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.paragraphs: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.unknown_tags: list[str] = []
        self._cell: list[str] | None = None
        self._para: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p":
            self._para = []
        elif tag not in ("thead", "tbody", "code", "pre", "h1", "h2", "a", "em", "strong", "br", "img"):
            self.unknown_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "p" and self._para is not None:
            self.paragraphs.append("".join(self._para))
            self._para = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for part in (self._cell, self._para):
            if part is not None:
                part.append(data)


def rendered(markdown: str) -> _Html:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    page = _Html()
    page.feed(html)
    page.close()
    return page


def flat(text: str) -> str:
    return " ".join(text.split())


def mermaid_read(diagrams: list[str]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "mermaid").is_dir():
        pytest.fail(f"node and the Mermaid packages in {NODE_DIR} are missing: run the tests with scripts/test.sh, "
                    "which installs them")
    proc = subprocess.run([node, str(MERMAID_CHECK), str(NODE_DIR)], input=json.dumps(diagrams), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def diagram(readme: str) -> str:
    m = re.search(r"^```mermaid\n(.*?)^```$", readme, re.M | re.S)
    assert m, readme
    return m.group(1)


def nasty_spec(tmp_path: Path, text: str) -> Spec:
    spec = tmp_path / "nasty.yaml"
    spec.write_text(json.dumps({
        "apiVersion": "agentgen/v1", "name": "nasty", "version": "0.1.0", "description": text,
        "agents": {"first": {"image": "nginx:1.27", "port": 8080, "description": text, "talksTo": ["second"],
                             "protocol": "a2a", "expose": {"host": "x.example.org"}},
                   "second": {"image": "nginx:1.27", "ports": {"web": 80, "admin": 81}, "description": text}}}))
    return load_spec(str(spec))


def check_tables(spec: Spec, page: _Html) -> None:
    agents_table, values_table = page.tables
    assert agents_table[0] == ["agent", "kind", "image", "ports", "talks to", "description"]
    rows = agents_table[1:]
    assert len(rows) == len(spec.agents)
    for row, agent in zip(rows, spec.agents.values(), strict=True):
        assert len(row) == 6, row  # a pipe in a description stays inside its cell
        assert row[0].split(" ")[0] == agent.name
        assert row[1] == agent.kind
        assert row[4] == ", ".join(t if isinstance(t, str) else t["agent"] for t in agent.talksTo)
        assert flat(row[5]) == flat(agent.description)
    assert values_table[0] == ["key", "description"]
    docs = {k: v for k, v in DOCS.items() if v}
    assert len(values_table[1:]) == len(docs)
    for row, (key, text) in zip(values_table[1:], docs.items(), strict=True):
        assert len(row) == 2, row
        assert re.sub(r"<(agent|secret|port)>", "*", row[0]) == key  # placeholders shown as words, not eaten
        assert flat(row[1]) == flat(text.replace("`", "")), key  # `code` spans render as their text


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.name)
def test_chart_readme_renders_every_word_and_keeps_table_cells(spec: Path) -> None:
    model = load_spec(str(spec))
    readme = render_readme(model)
    page = rendered(readme)
    text = "".join(page.text)
    for word in sorted(set(re.findall(r"<[a-z]+>", readme.replace("\\<", "<").replace("\\>", ">")))
                       | set(re.findall(r"<[a-z]+>", " ".join(DOCS.values())))):
        assert word in text, f"{word} is not visible in the rendered README"
    assert "<release>" in text and "<agent>" in text and "<prefix>" in text and "<secret>" in text
    assert page.unknown_tags == []
    assert flat(page.paragraphs[0]) == flat(model.description or "A multi-agent system.")
    check_tables(model, page)


@pytest.mark.parametrize("text", NASTY)
def test_chart_readme_shows_free_text_as_written(tmp_path: Path, text: str) -> None:
    model = nasty_spec(tmp_path, text)
    page = rendered(render_readme(model))
    assert page.unknown_tags == []
    assert flat(page.paragraphs[0]) == flat(text)
    check_tables(model, page)


def test_chart_readme_diagram_is_read_by_mermaid(tmp_path: Path) -> None:
    models = [load_spec(str(s)) for s in ALL_SPECS] + [nasty_spec(tmp_path, t) for t in NASTY[:3]]
    readmes = [render_readme(m) for m in models]
    results = mermaid_read([diagram(r) for r in readmes])
    for model, result in zip(models, results, strict=True):
        assert result["ok"], f"{model.name}: Mermaid refuses the diagram: {result.get('error')}"
        assert result["type"] == "flowchart-v2"
        nodes = result["nodes"]
        ids: dict[str, str] = {}
        for agent in model.agents.values():
            if not agent.enabled:
                continue
            [node_id] = [i for i, n in nodes.items() if n["lines"][0].split(":")[0] == agent.name]
            ids[agent.name] = node_id
            port = f":{agent.ports[agent.primary_port]['port']}" if agent.ports else ""
            second = agent.kind + (" · " + agent.protocol.upper() if agent.protocol != "http" else "")
            assert nodes[node_id]["lines"] == [agent.name + port, second]  # <br/> is a line break, not text
        exposed = [a.name for a in model.agents.values() if a.enabled and a.expose]
        assert set(nodes) == set(ids.values()) | ({"ingress"} if exposed else set())
        if exposed:
            assert nodes["ingress"]["lines"] == ["outside"] and nodes["ingress"]["shape"] == "circle"
        edges = {(a.name, t) for a in model.agents.values() if a.enabled  # talksTo items and references
                 for t in [*(t if isinstance(t, str) else t["agent"] for t in a.talksTo), *a.calls]
                 if t in model.agents and model.agents[t].enabled}
        assert sorted(map(tuple, result["edges"])) == sorted(
            [(ids[a], ids[b]) for a, b in edges] + [("ingress", ids[a]) for a in exposed])


def test_mermaid_check_refuses_a_broken_diagram() -> None:
    [good, bad] = mermaid_read(['flowchart LR\n  a["one<br/>two #quot;x#quot;"] --> b', 'flowchart LR\n  a["x" --> b'])
    assert good["ok"] and good["nodes"]["a"]["lines"] == ["one", 'two "x"'] and good["edges"] == [["a", "b"]]
    assert not bad["ok"] and "Parse error" in bad["error"]
