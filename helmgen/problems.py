"""A problem is data; this module is the one place that formats it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class SpecError(Exception):
    """Raised with every problem found; the CLI prints them and exits 2."""

    def __init__(self, filename: str, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.filename = filename
        self.problems = sorted(set(problems))
        self.warnings = sorted(set(warnings or []))  # printed too; they alone would not stop generation
        super().__init__("\n".join(p.format(filename) for p in self.problems))

    def lines(self) -> list[str]:
        return [p.format(self.filename) for p in self.problems]


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key
