"""The static summary of a run (view/summary.py): what a saved notebook shows without a kernel."""

from __future__ import annotations

import pytest

from jupyter_amlrun.view.summary import _chart_png


@pytest.mark.unit
def test_single_values_are_not_charts_in_the_summary_png() -> None:
    # lr and the final accuracy were logged once: values (in the metrics table), no empty charts
    assert _chart_png({"lr": ([0.0], [0.01]), "final_acc": ([0.0], [0.9])}) is None
    one_chart = _chart_png({"lr": ([0.0], [0.01]), "loss": ([0.0, 1.0], [1.0, 0.5])})
    two_charts = _chart_png({"acc": ([0.0, 1.0], [0.5, 0.7]), "loss": ([0.0, 1.0], [1.0, 0.5])})
    assert one_chart and two_charts
    from base64 import b64decode

    def width(png: str) -> int:
        return int.from_bytes(b64decode(png)[16:20], "big")  # the PNG header's width field

    assert width(one_chart) < width(two_charts)  # one panel, not two
