"""The wire between ``RunDetails`` in the kernel and its front end, each message named once.

The front end is the one run renderer (``labextension/src/runview/render.ts``) over its comm transport
(``runview/comm.ts``, bundled by ``js/`` into ``notebook/static/``); the JupyterLab extension draws reopened outputs
and the sidebar's run with the same renderer over REST (``GET runs/{id}/view``).

Synced state (traitlets, kept in the saved notebook's widget state): ``STATE_*`` below, each holding a view of
:mod:`jupyter_amlrun.view.model` (``header``: :class:`HeaderView`, ``logs``: :class:`LogsView`, ``children``:
:class:`TableView`, ``duration``: the duration text, ``status``: the v1 status string).

Custom messages (only what is new, never saved): ``MSG_*`` below, one TypedDict each. Chart points travel as binary
buffers: buffer ``SeriesPart.buffer`` holds ``n`` float64 x values followed by ``n`` float64 y values.

Output marker: a live RunDetails output carries ``RUN_MIME`` (:class:`RunMarker`) beside the widget view, so the
JupyterLab extension (``labextension/src/widgetfallback.ts``, the same string) can show the run over REST when
the widget's model is gone (the notebook reopened on a fresh kernel, or its kernel restarted).

``labextension/src/runview/wire.ts`` mirrors every name here: the same strings in its ``MSG``/``STATE`` constants and a
TypeScript type per TypedDict with the same properties; ``tests/notebook/test_protocol.py`` fails when they drift.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

# The views inside the state and the deltas are defined with the view model in core; re-exported as part of the wire.
from jupyter_amlrun.view.model import (
    CancelView,
    FieldView,
    HeaderView,
    ImageView,
    LogFileView,
    LogsView,
    StatusView,
    TableView,
)

__all__ = [
    "MESSAGE_TYPES",
    "MSG_BYE",
    "MSG_CANCEL",
    "MSG_DELTA",
    "MSG_HELLO",
    "MSG_LOG_MORE",
    "MSG_LOG_OLDER",
    "RUN_MIME",
    "STATES",
    "STATE_CHILDREN",
    "STATE_DURATION",
    "STATE_HEADER",
    "STATE_LOGS",
    "STATE_RUN_ID",
    "STATE_STATUS",
    "ByeMsg",
    "CancelMsg",
    "CancelView",
    "DeltaMsg",
    "FieldView",
    "HeaderView",
    "HelloMsg",
    "ImageView",
    "LogChunkMsg",
    "LogFileView",
    "LogMoreMsg",
    "LogOlderMsg",
    "LogsView",
    "RunMarker",
    "SeriesPart",
    "StatusView",
    "TableView",
]

# ---------------------------------------------------------------------- message type names
# Final: each constant has its Literal type, so a message built with it type-checks against its TypedDict.
# kernel -> front end
MSG_DELTA: Final = "delta"
MSG_LOG_OLDER: Final = "log_older"
# front end -> kernel
MSG_HELLO: Final = "hello"
MSG_BYE: Final = "bye"
MSG_CANCEL: Final = "cancel"
MSG_LOG_MORE: Final = "log_more"
MESSAGE_TYPES = (MSG_DELTA, MSG_LOG_OLDER, MSG_HELLO, MSG_BYE, MSG_CANCEL, MSG_LOG_MORE)

# ---------------------------------------------------------------------- synced state names (traitlets)
STATE_RUN_ID: Final = "run_id"
STATE_STATUS: Final = "status"
STATE_HEADER: Final = "header"
STATE_DURATION: Final = "duration"
STATE_LOGS: Final = "logs"
STATE_CHILDREN: Final = "children"
# The marker of a live RunDetails output (JupyterLab extension: widgetfallback.ts RUN_MIME).
RUN_MIME: Final = "application/vnd.amlrun.rundetails+json"


class RunMarker(TypedDict):
    """What ``RUN_MIME`` holds: enough for the extension to read the run from the server without the kernel."""

    run_id: str
    experiment: str
    notify: bool  # whether a JupyterLab notice is wanted when the run ends (`%amlrun notify off|on`)
    live: bool  # whether the run was live when this output was made (a run shown after it ended says nothing)


STATES = (STATE_RUN_ID, STATE_STATUS, STATE_HEADER, STATE_DURATION, STATE_LOGS, STATE_CHILDREN)


# ---------------------------------------------------------------------- kernel -> front end
class SeriesPart(TypedDict):
    """Points for one chart in buffer ``buffer`` (``n`` x values, then ``n`` y values, float64).

    ``replace``: drop the chart's points first (a list metric); ``reindex``: redraw its points at their arrival
    index first (its steps went backwards); ``label``: the text beside the chart's title.
    """

    name: str
    n: int
    buffer: int
    replace: bool
    reindex: bool
    label: str
    section: str  # "metrics", or "system" for the driver's system/... samples (the System section)
    title: str  # the chart's title (view/model.py chart_title)
    axis: str  # its value axis's label (view/model.py chart_axis)


class LogChunkMsg(TypedDict):
    """Bytes ``[start, end)`` of a log file, decoded (see :class:`~jupyter_amlrun.view.watch.LogChunk`)."""

    name: str
    text: str
    start: int
    end: int
    head: int
    reset: bool


class DeltaMsg(TypedDict):
    """What is new: chart points (``scalars``: ``run.log``; ``lists``: ``run.log_list``), tables and images that
    changed (each whole), log text. ``reset``: drop everything first (a snapshot for a view that attached)."""

    type: Literal["delta"]
    reset: bool
    scalars: list[SeriesPart]
    lists: list[SeriesPart]
    tables: list[TableView]
    images: list[ImageView]
    logs: list[LogChunkMsg]
    has_metrics: bool


class LogOlderMsg(TypedDict):
    """The answer to :class:`LogMoreMsg`: the piece of the log before the view's first byte (None: nothing)."""

    type: Literal["log_older"]
    chunk: LogChunkMsg | None


# ---------------------------------------------------------------------- front end -> kernel
class HelloMsg(TypedDict):
    """A view attached (first render, page reload): the kernel answers with a reset :class:`DeltaMsg`."""

    type: Literal["hello"]


class ByeMsg(TypedDict):
    """A view went away; with no view left the kernel stops following the run after a grace period."""

    type: Literal["bye"]


class CancelMsg(TypedDict):
    """The cancel button was pressed."""

    type: Literal["cancel"]


class LogMoreMsg(TypedDict):
    """ "Load earlier output": the part of log ``name`` that ends at byte ``before``."""

    type: Literal["log_more"]
    name: str
    before: int
