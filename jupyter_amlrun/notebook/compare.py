"""``RunDetails([run_a, run_b, ...]).show()``: the compare view of two or more runs as a notebook widget.

What it shows is decided in Python (:func:`jupyter_amlrun.view.compare.compare_view`: one chart per metric with a
line per run on the shared step axis, colours, the parameters table with the differing rows first); the front end
(``labextension/src/runview/compare.ts``, the sidebar's compare view too, bundled by ``js/build.mjs`` as
``compare_details.js``) only draws the view it is sent as the synced ``view`` state. While any of the runs is live a
thread refreshes the view.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.status import is_terminal
from jupyter_amlrun.view.compare import MAX_RUNS, compare_view

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

__all__ = ["CompareDetails", "check_runs"]

STATIC = Path(__file__).parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def check_runs(runs: Sequence[Any]) -> list[Run]:
    """The runs of a ``RunDetails([...])`` call, checked: at least one, at most :data:`MAX_RUNS`, each a Run, all of
    one workspace.

    Raises
    ------
    UserErrorException
        For an empty list, too many runs, or runs of different workspaces (what was wrong and what to pass instead).
    TypeError
        For an item that is not a Run.
    """
    items = list(runs)
    if not items:
        raise UserErrorException(
            "RunDetails([]) has no run to show: pass a Run, or a list of 2 or more runs to compare them, e.g. "
            "RunDetails([run_a, run_b]).show()."
        )
    if len(items) > MAX_RUNS:
        raise UserErrorException(
            f"RunDetails compares at most {MAX_RUNS} runs at once, got {len(items)}: pass fewer runs "
            f"(e.g. RunDetails(runs[:{MAX_RUNS}]))."
        )
    for i, item in enumerate(items):
        if not hasattr(item, "reader") or not hasattr(item, "get_status"):
            raise TypeError(f"RunDetails([...]) needs Runs; item {i} is a {type(item).__name__}.")
    paths = {str(Path(r.experiment.workspace.path).resolve()) for r in items}
    if len(paths) > 1:
        which = ", ".join(f"{r.id} ({r.experiment.workspace.name!r} at {r.experiment.workspace.path})" for r in items)
        raise UserErrorException(
            f"RunDetails([...]) compares runs of one workspace, these come from {len(paths)}: {which}. Open the runs "
            "from the same Workspace (Run.get(ws, run_id))."
        )
    return items


class CompareDetails(anywidget.AnyWidget):
    """Two or more runs side by side (what ``RunDetails([run_a, run_b]).show()`` returns and shows).

    Parameters
    ----------
    runs:
        2 to 20 :class:`~jupyter_amlrun.core.run.Run` objects of one workspace.
    interval:
        Seconds between refreshes while any of the runs is live.
    """

    _esm = STATIC / "compare_details.js"
    _css = STATIC / "run_details.css"

    view = traitlets.Dict().tag(sync=True)

    def __init__(self, runs: Sequence[Run], *, interval: float = 2.0, **kwargs: Any) -> None:
        checked = check_runs(runs)
        if len(checked) < 2:
            raise UserErrorException("A compare view needs 2 or more runs; show one run with RunDetails(run).")
        super().__init__(**kwargs)
        self.runs = checked
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    @property
    def live(self) -> bool:
        """Whether any of the runs may still change."""
        return any(not is_terminal(r["status"]) for r in self.view.get("runs", []))

    def refresh(self) -> None:
        """Read the runs again and send the new view to the front end."""
        self.view = dict(compare_view([r.reader for r in self.runs]))

    def show(self) -> None:
        """Display the compare view under the cell; it follows the runs until each has ended."""
        from IPython.display import display

        display(self._bundle(), raw=True)
        if self.live and self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="amlrun-compare", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop following the runs and close the widget's comm."""
        if "_stop" in self.__dict__:
            self._stop.set()
        super().close()

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # a store hiccup must not kill the view: the next tick reads again
                continue
            if not self.live:
                return

    def _bundle(self) -> dict[str, Any]:
        names = ", ".join(html.escape(r["name"] or r["id"]) for r in self.view["runs"])
        params = self.view["params"]
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in params["columns"])
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in params["rows"]
        )
        summary = (
            f'<div class="amlrun-summary"><b>Compare {len(self.runs)} runs</b>: {names}. '
            f"Parameters ({html.escape(params['note'])}):<table><tr>{head}</tr>{rows}</table></div>"
        )
        return {
            WIDGET_MIME: {"version_major": 2, "version_minor": 1, "model_id": self.model_id},
            "text/plain": f"CompareDetails(runs={[r.id for r in self.runs]!r})",
            "text/html": summary,
        }
