"""A notebook as a run's entry script: ``ScriptRunConfig(script="train.ipynb")`` runs it with nbclient.

The driver starts ``<run interpreter> -m jupyter_amlrun.compute.notebook_entry <notebook> [arguments...]`` in the
run's working folder. This module:

* runs every code cell, in order, in an IPython kernel of the *same interpreter* (the run environment's python; the
  kernel command is built here, so no kernelspec needs installing into a run's venv and none on the machine can
  point elsewhere);
* gives the arguments to the notebook as ``sys.argv`` (``[<notebook>, *arguments]``), set by one injected first cell
  tagged ``injected-arguments``: a v1 entry script reads its arguments with argparse, and a notebook made from such a
  script keeps working unchanged (papermill-style parameters would need a ``parameters`` cell and typed values that
  v1 ``arguments`` lists do not have);
* writes each cell's output (stream text, results, errors) to stdout as it arrives, so it is in the run's log live,
  each cell announced as ``[notebook] cell N`` (cells counted from 1 as the notebook shows them, markdown included);
* saves the executed copy (outputs included) as ``outputs/<notebook name>``, also when a cell fails or the run is
  canceled;
* exits 1 when a cell fails, its last line naming the cell and the error, so the run's error says it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

INJECTED_TAG = "injected-arguments"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


def _missing(exc: ImportError) -> int:
    print(
        f"Running a notebook as the entry script needs nbclient, nbformat and ipykernel in the run's interpreter "
        f"{sys.executable} ({exc}). Add them to the environment's pip packages, or run a .py script.",
        file=sys.stderr,
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the notebook ``argv[0]`` with ``argv[1:]`` as its ``sys.argv[1:]``; 0 when every cell ran."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m jupyter_amlrun.compute.notebook_entry NOTEBOOK [ARG...]", file=sys.stderr)
        return 2
    path = Path(args[0])
    try:
        import nbformat
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        return _missing(exc)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        print(f"{path} is not a readable notebook: {exc}", file=sys.stderr)
        return 2

    class _ThisInterpreter(KernelSpecManager):
        """Every kernel name resolves to an IPython kernel of this interpreter."""

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python ({sys.executable})",
                language="python",
            )

    class _Client(NotebookClient):
        def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
            _echo(msg)
            return super().output(outs, msg, display_id, cell_index)

    argv_cell = nbformat.v4.new_code_cell(
        f"import sys\nsys.argv = {json.dumps([path.name, *args[1:]])}",
        metadata={"tags": [INJECTED_TAG]},
    )
    nb.cells.insert(0, argv_cell)
    out_dir = Path("outputs")
    copy = out_dir / path.name

    def save() -> None:
        out_dir.mkdir(exist_ok=True)
        nbformat.write(nb, copy)

    def on_cell_start(cell: Any, cell_index: int) -> None:
        if cell_index > 0:
            print(f"[notebook] cell {cell_index}", flush=True)

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    from jupyter_client.manager import AsyncKernelManager

    # IPC sockets in a private folder: no TCP port opened for the kernel (it would carry the code in plain text).
    sockets = Path(tempfile.mkdtemp(prefix="amlrun-kernel-"))
    km = AsyncKernelManager(
        kernel_spec_manager=_ThisInterpreter(), kernel_name="python3", transport="ipc", ip=str(sockets / "k")
    )
    client = _Client(
        nb,
        km=km,
        timeout=None,
        allow_errors=False,
        record_timing=True,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": os.getcwd()}},
        on_cell_start=on_cell_start,
    )
    print(f"[notebook] running {path} ({len(nb.cells) - 1} cells) with sys.argv = {[path.name, *args[1:]]}")
    sys.stdout.flush()
    try:
        return _execute(client, save, path, copy, CellExecutionError, nb)
    finally:
        # The client does not shut down a kernel it was given: end it here, before this process exits.
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _execute(client: Any, save: Any, path: Path, copy: Path, cell_error: type[Exception], nb: Any) -> int:
    try:
        client.execute()
    except cell_error as exc:
        save()
        index = _failed_cell(nb)
        where = f"cell {index}" if index is not None else "a cell"
        name, value = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
        print(f"[notebook] executed copy: {copy}", file=sys.stderr)
        print(f"Error in {where} of {path.name}: {_plain(str(name))}: {_plain(str(value))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        save()
        print(f"[notebook] stopped; the executed part is in {copy}", file=sys.stderr)
        return 130
    save()
    print(f"[notebook] done; executed copy: {copy}")
    return 0


def _echo(msg: dict[str, Any]) -> None:
    """One kernel output message, as text on stdout (the run's log)."""
    kind = msg.get("msg_type")
    content = msg.get("content") or {}
    if kind == "stream":
        stream = sys.stderr if content.get("name") == "stderr" else sys.stdout
        stream.write(content.get("text", ""))
        stream.flush()
    elif kind in ("execute_result", "display_data"):
        text = (content.get("data") or {}).get("text/plain")
        if text:
            print(text, flush=True)
    elif kind == "error":
        print(_plain("\n".join(content.get("traceback") or [])), file=sys.stderr, flush=True)


def _failed_cell(nb: Any) -> int | None:
    """The failed cell's number, counting the notebook's own cells from 1 (the injected cell is index 0)."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                return i  # cell 0 is the injected one, so this is the notebook's own 1-based number
    return None


if __name__ == "__main__":
    sys.exit(main())
