"""Object-by-object differences between two rendered manifests (pure)."""

from __future__ import annotations

import difflib
from typing import Any

RED, GREEN, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"


def objects(manifest: str) -> dict[str, str]:
    """Each object of a manifest as sorted YAML text, keyed by Kind/namespace/name."""
    import yaml

    out = {}
    for doc in yaml.safe_load_all(manifest):
        if not isinstance(doc, dict):
            continue
        meta: dict[str, Any] = doc.get("metadata") or {}
        key = f"{doc.get('kind')}/{meta['namespace'] + '/' if meta.get('namespace') else ''}{meta.get('name')}"
        out[key] = yaml.safe_dump(doc, sort_keys=True, allow_unicode=True, width=1000)
    return out


def unified(a_name: str, a: str, b_name: str, b: str, color: bool = False) -> tuple[str, int]:
    """The unified diff of two manifests and how many objects differ."""
    left, right = objects(a), objects(b)
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
