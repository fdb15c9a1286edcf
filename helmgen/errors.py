"""The one base class of helmgen's errors, and the exit codes of the command line.

Every error a command can end in is a HelmgenError: `main()` (helmgen.cli) catches it once, prints
its `report()` to standard error and exits with its `exit_code`. Helpers raise; they never exit."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # a run failed or was refused: Helm, a registry, a publish under a taken version
EXIT_OUT_OF_DATE = 1  # `generate --check`: the chart folder is not what the spec generates
EXIT_BAD_INPUT = 2  # the spec, an option, a chart folder or a package is unusable; nothing was written
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class HelmgenError(Exception):
    """An error that ends a command: its message, one `helmgen: ` line per line, and its exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.epilogue: list[str] = []  # lines the command adds after the message (e.g. "nothing written.")

    def report(self) -> list[str]:
        """The lines printed to standard error."""
        return [f"helmgen: {line}" for line in str(self).splitlines() or [""]] + self.epilogue


class OutOfDate(HelmgenError):
    """`generate --check` found files that differ from what the spec generates; the message is the summary."""

    exit_code = EXIT_OUT_OF_DATE

    def report(self) -> list[str]:
        return [str(self)]
