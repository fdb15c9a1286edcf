"""The spec stages of the pipeline (load → check → model): `load_spec(path)` or `check_text(text, name)`
gives the normalised model (`Spec`) or raises SpecError with every problem.

The entry points import their stage when called, so importing the package stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helmgen.spec.model import Spec

__all__ = ["check_text", "load_spec"]


def load_spec(path: str) -> Spec:
    """The model of the spec file at `path`."""
    from helmgen.spec import check

    return check.load_spec(path)


def check_text(text: str, name: str) -> Spec:
    """The model of a spec given as text; `name` is the file name its problems are reported under."""
    from helmgen.spec.check import check_tree
    from helmgen.spec.load import parse_text

    return check_tree(parse_text(text, name), name)
