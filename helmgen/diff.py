"""Object-by-object differences between two rendered manifests (pure)."""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

RED, GREEN, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"
# a line that starts a YAML document; inside a block scalar such a line is indented, and a quoted
# scalar may not hold one, so splitting here never cuts an object in two
_DOCUMENT_START = re.compile(r"^---(?=[ \t]*$|[ \t])", re.MULTILINE)


def documents(manifest: str) -> list[str]:
    """The text of each YAML document of a manifest after its `---` (blank ones left out);
    each starts with a space or a line break, so "---" + text is the document again."""
    first, *rest = _DOCUMENT_START.split(manifest)
    return [d for d in ("\n" + first, *rest) if d.strip()]


# what keeps a string with line breaks out of a literal block (in libyaml's emitter; PyYAML's allows a little
# more): a character it does not print as it is (tab, CR, other controls, a byte order mark, one beyond
# U+FFFF), a line break other than LF (NEL, U+2028, U+2029), or a space at a line's end
_NO_BLOCK = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]| \n| $")


@functools.cache
def _yaml() -> tuple[Any, Any]:
    """PyYAML's loader and dumper: libyaml's (C, about 10x faster) when PyYAML was built with it."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    def text(dumper: Any, value: str) -> Any:
        # a config file or a script reads as itself: a literal block, not one escaped line
        if "\n" not in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value)
        if _NO_BLOCK.search(value):
            # YAML has no literal block for it (CRLF, a tab, a space before a line break, ...): one item
            # per line, each quoted where it needs to be, so `\r` and `\t` show as escapes; a
            # `!lines` tag tells this from a list
            return yaml.SequenceNode("!lines", [dumper.represent_scalar(
                "tag:yaml.org,2002:str", line, style='"' if _NO_BLOCK.search(line.rstrip(" ")) else None)
                for line in value.split("\n")], flow_style=False)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")

    Dumper.add_representer(str, text)
    return loader, Dumper


def objects(docs: list[str]) -> dict[str, str]:
    """Each object of some YAML documents as sorted YAML text, keyed by Kind/namespace/name."""
    import yaml

    loader, dumper = _yaml()
    out = {}
    for doc in yaml.load_all("".join("---" + d for d in docs), Loader=loader):
        if not isinstance(doc, dict):
            continue
        meta: dict[str, Any] = doc.get("metadata") or {}
        key = f"{doc.get('kind')}/{meta['namespace'] + '/' if meta.get('namespace') else ''}{meta.get('name')}"
        out[key] = yaml.dump(doc, Dumper=dumper, sort_keys=True, allow_unicode=True, width=1000)
    return out


def _both(a: list[str], b: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """objects() of both sides; a large side b in a forked copy of this process, on another core."""
    import multiprocessing
    import os

    if len(b) < 100 or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return objects(a), objects(b)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        right = pool.submit(objects, b)
        return objects(a), right.result()


def unified(a_name: str, a: str, b_name: str, b: str, color: bool = False) -> tuple[str, int]:
    """The unified diff of two manifests and how many objects differ."""
    docs_a, docs_b = documents(a), documents(b)
    same = set(docs_a) & set(docs_b)  # written alike in both: the same object, unchanged; never parsed
    left, right = _both([d for d in docs_a if d not in same], [d for d in docs_b if d not in same])
    chunks: list[str] = []
    changed = 0
    for key in sorted(set(left) | set(right)):
        la = left.get(key, "").splitlines(keepends=True)
        lb = right.get(key, "").splitlines(keepends=True)
        if la == lb:
            continue
        changed += 1
        lines = list(difflib.unified_diff(la, lb, f"{a_name}: {key}" if key in left else "/dev/null",
                                          f"{b_name}: {key}" if key in right else "/dev/null"))
        for line in lines:
            text = line if line.endswith("\n") else line + "\n"
            if color:
                if line.startswith(("---", "+++")):
                    text = BOLD + text.rstrip("\n") + RESET + "\n"
                elif line.startswith("@@"):
                    text = CYAN + text.rstrip("\n") + RESET + "\n"
                elif line.startswith("-"):
                    text = RED + text.rstrip("\n") + RESET + "\n"
                elif line.startswith("+"):
                    text = GREEN + text.rstrip("\n") + RESET + "\n"
            chunks.append(text)
    return "".join(chunks), changed
