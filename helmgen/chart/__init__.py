"""The chart stage of the pipeline (model → render): `render_chart(spec)` gives every file of the chart
by its path, for `helmgen.write` to write."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helmgen.spec.model import Spec

__all__ = ["render_chart"]


def render_chart(spec: Spec) -> dict[str, bytes]:
    """Every file of the chart for `spec`, by its path inside the chart folder."""
    from helmgen.chart import render

    return render.render_chart(spec)
