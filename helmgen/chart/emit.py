"""A small YAML writer: block style, comments above keys, strings always quoted or literal.

Written here rather than with a YAML library so that the output is byte-stable, every
string stays a string for any YAML reader ("no", "0123", "1e3"), and comments sit where
a reader of values.yaml expects them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
# escaped inside quotes: control characters, and the line breaks YAML knows beyond \n and \r
_NONPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")

Comment = Callable[[tuple[str, ...]], str]


def quote(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    return _NONPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def key(k: str) -> str:
    return k if _PLAIN_KEY.fullmatch(k) and k.lower() not in _RESERVED else quote(k)


def scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[str(v)]
        return repr(v)
    return quote(str(v))


def _literal_ok(s: str) -> bool:
    if "\n" not in s.rstrip("\n") or "\r" in s or _NONPRINTABLE.search(s):
        return False
    lines = s.rstrip("\n").split("\n")
    if not lines[0] or lines[0][0] in " \t":
        return False
    return all(ln == ln.rstrip(" \t") for ln in lines) and "\t" not in s


def _literal(s: str, indent: int) -> list[str]:
    body = s.rstrip("\n")
    trailing = len(s) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    pad = " " * indent
    out = ["|" + chomp]
    out += [pad + ln if ln else "" for ln in body.split("\n")]
    out += [""] * (trailing - 1 if trailing > 1 else 0)
    return out


def dump(value: Any, comment: Comment | None = None, path: tuple[str, ...] = ()) -> str:
    lines: list[str] = []
    _emit(value, 0, path, comment, lines)
    return "\n".join(lines) + "\n"


def _comment(lines: list[str], text: str, indent: int) -> None:
    for ln in text.splitlines():
        lines.append(" " * indent + ("# " + ln if ln else "#"))


def _emit(v: Any, indent: int, path: tuple[str, ...], comment: Comment | None, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(v, dict):
        for k, item in v.items():
            p = path + (str(k),)
            if comment:
                c = comment(p)
                if c:
                    _comment(lines, c, indent)
            head = f"{pad}{key(str(k))}:"
            _emit_value(item, head, indent, p, comment, lines)
    elif isinstance(v, list):
        for item in v:
            _emit_value(item, f"{pad}-", indent, path + ("[]",), comment, lines, in_list=True)


def _emit_value(item: Any, head: str, indent: int, path: tuple[str, ...], comment: Comment | None,
                lines: list[str], in_list: bool = False) -> None:
    if isinstance(item, dict) and item:
        if in_list:
            sub: list[str] = []
            _emit(item, indent + 2, path, None, sub)
            sub[0] = head + " " + sub[0].lstrip()
            lines.extend(sub)
        else:
            lines.append(head)
            _emit(item, indent + 2, path, comment, lines)
    elif isinstance(item, list) and item:
        lines.append(head)
        _emit(item, indent + 2, path, comment, lines)
    elif isinstance(item, dict):
        lines.append(head + " {}")
    elif isinstance(item, list):
        lines.append(head + " []")
    elif isinstance(item, str) and _literal_ok(item):
        block = _literal(item, indent + 2)
        lines.append(head + " " + block[0])
        lines.extend(block[1:])
    else:
        lines.append(head + " " + scalar(item))
