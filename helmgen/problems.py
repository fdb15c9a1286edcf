"""A problem is data; this module is the one place that formats it."""

from __future__ import annotations

from dataclasses import dataclass

from helmgen.errors import EXIT_BAD_INPUT, HelmgenError


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


class SpecError(HelmgenError):
    """Raised with every problem found; the CLI prints them, its warnings and a summary, and exits 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, filename: str, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.filename = filename
        self.problems = sorted(set(problems))
        self.warnings = sorted(set(warnings or []))  # printed too; they alone would not stop generation
        super().__init__("\n".join(p.format(filename) for p in self.problems))
        n = len(self.problems)
        self.summary = f"{n} problem{'s' if n != 1 else ''} found."  # the CLI may say more (e.g. nothing written)

    def lines(self) -> list[str]:
        return [p.format(self.filename) for p in self.problems]

    def report(self) -> list[str]:
        return [*self.lines(), *(w.format(self.filename) for w in self.warnings), self.summary, *self.epilogue]


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key
