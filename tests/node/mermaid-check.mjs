// Read Mermaid diagrams with Mermaid's own parser and say what a reader would see.
// usage: node mermaid-check.mjs NODE_DIR < diagrams.json
//   NODE_DIR holds node_modules with the packages of tests/node/package.json (scripts/test.sh puts them in
//   .cache/node); stdin is a JSON list of diagram sources. Prints a JSON list, one entry a diagram:
//   {ok: true, type, nodes: {id: {shape, lines}}, edges: [[from, to]]} or {ok: false, error}.
//   `lines` is a node label as rendered: Mermaid's entity codes (#quot; #lt; ...) decoded, <br> tags
//   as line breaks, any other markup reduced to its text.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(resolve(process.argv[2], 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window; // Mermaid's DOMPurify needs a window even just to parse
globalThis.document = dom.window.document;
const { default: mermaid } = await import(pathToFileURL(require.resolve('mermaid')).href);
mermaid.initialize({ startOnLoad: false });

// Mermaid keeps `#name;` entity codes as placeholders until it renders (its decodeEntities).
const decodeEntities = (text) => text.replace(/ﬂ°°/g, '&#').replace(/ﬂ°/g, '&').replace(/¶ß/g, ';');

function lines(label) {
  const div = document.createElement('div');
  div.innerHTML = decodeEntities(label);
  for (const br of div.querySelectorAll('br')) br.replaceWith('\n');
  return div.textContent.split('\n');
}

const results = [];
for (const text of JSON.parse(readFileSync(0, 'utf8'))) {
  try {
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const nodes = {};
    for (const [id, v] of diagram.db.getVertices()) nodes[id] = { shape: v.type ?? null, lines: lines(v.text) };
    const edges = diagram.db.getEdges().map((e) => [e.start, e.end]);
    results.push({ ok: true, type: diagram.type, nodes, edges });
  } catch (e) {
    results.push({ ok: false, error: String(e?.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(results));
