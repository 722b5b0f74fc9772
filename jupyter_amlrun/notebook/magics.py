"""IPython magics: ``%%submit`` / ``%submit`` (submit a script as a tracked run) and ``%amlrun`` (list and act).

``%load_ext jupyter_amlrun`` registers them. The workspace is, in order: the variable named by ``--workspace``, a
``Workspace`` bound to ``ws`` in the notebook, else ``Workspace.from_config()``.
"""

from __future__ import annotations

import contextlib
import html
import re
import shlex
import time
from pathlib import Path
from typing import Any

from IPython.core import magic_arguments
from IPython.core.completer import CompletionContext, SimpleCompletion, SimpleMatcherResult, context_matcher
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand

from jupyter_amlrun.core.reader import RunReader
from jupyter_amlrun.notebook.widget import RunDetails, set_notify
from jupyter_amlrun.runtime.errors import AmlRunError, UserErrorException
from jupyter_amlrun.view.model import duration_text, header_view, main_log

__all__ = ["AmlRunMagics", "load_ipython_extension", "unload_ipython_extension"]

_INPUT_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
MODES = ("mount", "download")
AMLRUN_ACTIONS = (
    "runs",
    "details",
    "logs",
    "cancel",
    "show",
    "models",
    "datastores",
    "envs",
    "tensorboard",
    "workspace",
    "port",
    "notify",
)


# ---------------------------------------------------------------------- parsing helpers (pure, unit-tested)
def split_line(line: str) -> tuple[list[str], list[str] | None]:
    """Split a magic line at the first standalone ``--``: (magic options, script arguments or None)."""
    try:
        argv = shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"Cannot parse the magic line: {exc} (check the quotes).") from None
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, None


def join_continued(line: str, cell: str) -> tuple[str, str]:
    """``%%submit ... \\`` continues on the cell's next lines (IPython hands a cell magic only its first line)."""
    body = cell.splitlines(keepends=True)
    while line.rstrip().endswith("\\") and body:
        line = line.rstrip()[:-1] + " " + body.pop(0).strip()
    if line.rstrip().endswith("\\"):
        raise UsageError("The %%submit line ends with a backslash but the cell has no next line to continue with.")
    return line, "".join(body)


def parse_input(spec: str) -> tuple[str, str, str | None, str]:
    """``name=dataset[:version][:mount|:download]`` -> (name, dataset, version or None, mode); mount by default."""
    if "=" not in spec:
        raise UsageError(
            f"--input {spec!r}: expected NAME=DATASET[:VERSION][:mount|:download], e.g. --input mnist=mnist_data:mount"
        )
    name, _, rest = spec.partition("=")
    name = name.strip()
    if not _INPUT_NAME_RE.match(name):
        raise UsageError(
            f'Invalid input name "{name}". The name can only be alphanumeric characters and underscore, and must not '
            "begin with a number."
        )
    parts = rest.split(":")
    mode = "mount"
    if len(parts) > 1 and parts[-1] in MODES:
        mode = parts.pop()
    elif len(parts) > 1 and not parts[-1].isdigit() and parts[-1] != "latest":
        raise UsageError(f"--input {spec!r}: unknown mode {parts[-1]!r}; use :mount or :download.")
    version: str | None = None
    if len(parts) > 1 and (parts[-1].isdigit() or parts[-1] == "latest"):
        version = parts.pop()
        version = None if version == "latest" else version
    dataset = ":".join(parts).strip()
    if not dataset:
        raise UsageError(f"--input {spec!r}: the dataset name is missing (NAME=DATASET).")
    return name, dataset, version, mode


def expand_placeholders(args: list[str], inputs: dict[str, Any]) -> list[Any]:
    """Replace ``{name}`` arguments by the dataset input of that name (``{{``/``}}`` stand for literal braces).

    A placeholder must be a whole argument (``--data {mnist}``): the run swaps it for the real path on the target.
    """
    out: list[Any] = []
    for arg in args:
        names = [m.group(1) for m in _PLACEHOLDER_RE.finditer(arg) if m.group(1) is not None]
        for name in names:
            if name not in inputs:
                known = ", ".join(sorted(inputs)) or "none"
                raise UsageError(
                    f"Placeholder {{{name}}} after -- names no input (inputs: {known}). Declare it with "
                    f"--input {name or 'NAME'}=<dataset>[:mount|:download], or write {{{{ and }}}} for literal braces."
                )
        if names and (len(names) > 1 or arg != "{" + names[0] + "}"):
            raise UsageError(
                f"Placeholder in {arg!r}: a placeholder must be a whole argument, e.g. `--data-folder {{{names[0]}}}` "
                f"rather than `--data-folder={{{names[0]}}}`."
            )
        if names:
            out.append(inputs[names[0]])
        else:
            out.append(arg.replace("{{", "{").replace("}}", "}"))
    return out


def parse_tags(items: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--tag {item!r}: expected KEY=VALUE.")
        k, _, v = item.partition("=")
        tags[k.strip()] = v
    return tags


# ---------------------------------------------------------------------- tables
def readable_help(func: Any) -> Any:
    """Make a magic's help (what ``%submit?`` shows) plain text instead of IPython's reST.

    IPython writes the usage as a ``::`` block and our docstrings use reST literals; a notebook shows them raw. The
    ``?`` pager also drops a backslash that ends a line, so such a line keeps one trailing space.
    """
    lines = []
    for line in (func.__doc__ or "").replace("::\n\n  %", "Usage:\n  %", 1).splitlines():
        if line.strip() == "::":
            continue
        line = line.replace("``", "`")
        lines.append(line + " " if line.endswith("\\") else line)
    func.__doc__ = "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
    return func


def local_time(value: Any) -> str:
    """An ISO timestamp (``2026-12-02T14:55:09.123456+00:00``) as local ``YYYY-MM-DD HH:MM:SS``; "" when unknown."""
    import datetime as _dt

    from jupyter_amlrun.view.model import parse_iso

    seconds = float(value) if isinstance(value, int | float) else parse_iso(value)
    if seconds is None:
        return ""
    return _dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _text_cells(row: list[str], widths: list[int]) -> list[str]:
    """One table row as text lines: a multi-line cell (a traceback) keeps its line breaks under its column."""
    split = [c.splitlines() or [""] for c in row]
    height = max(len(parts) for parts in split)
    out = []
    for i in range(height):
        cells = [parts[i] if i < len(parts) else "" for parts in split]
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return out


def _html_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if "\n" in text:  # keep a traceback's line breaks
        return f'<td style="white-space: pre-wrap; text-align: left; font-family: monospace">{html.escape(text)}</td>'
    return f"<td>{html.escape(text)}</td>"


def _show_table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    """Display rows as an HTML table with an aligned plain-text fallback."""
    from IPython.display import display

    text_rows = [[str(c) for c in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(line) for r in text_rows for line in (r[i].splitlines() or [""])) for i in range(len(headers))]
    widths[-1] = 0  # the last column is not padded (a long traceback line would pad every row)
    lines = [line for r in text_rows for line in _text_cells(r, widths)]
    if title:
        lines.insert(0, title)
    if not rows:
        lines.append("(none)")
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in r) + "</tr>" for r in rows)
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    empty = "" if rows else f'<tr><td colspan="{len(headers)}"><i>(none)</i></td></tr>'
    display(
        {"text/plain": "\n".join(lines), "text/html": f"<table>{caption}<tr>{head}</tr>{body}{empty}</table>"},
        raw=True,
    )


# ---------------------------------------------------------------------- magics
@magics_class
class AmlRunMagics(Magics):
    """``%%submit``, ``%submit`` and ``%amlrun``."""

    # ------------------------------------------------------------------ workspace
    def _workspace(self, var: str | None) -> Any:
        from jupyter_amlrun.core.workspace import Workspace

        ns = self.shell.user_ns if self.shell is not None else {}
        if var:
            if var not in ns:
                raise UsageError(f"--workspace {var}: no variable {var!r} in the notebook.")
            if not isinstance(ns[var], Workspace):
                raise UsageError(f"--workspace {var}: {var!r} is a {type(ns[var]).__name__}, not a Workspace.")
            return ns[var]
        if isinstance(ns.get("ws"), Workspace):
            return ns["ws"]
        try:
            return Workspace.from_config()
        except UserErrorException as exc:
            raise UsageError(str(exc)) from None

    # ------------------------------------------------------------------ %%submit / %submit
    @readable_help
    @magic_arguments.magic_arguments()
    @magic_arguments.argument(
        "script_path",
        nargs="?",
        metavar="SCRIPT",
        help="%%submit only: an existing script to submit (relative to --source-dir when given).",
    )
    @magic_arguments.argument("-e", "--experiment", default="notebook", help="Experiment name (default: notebook).")
    @magic_arguments.argument(
        "-c", "--compute", default="local", help="Compute target: local (default) or a name from ws.compute_targets."
    )
    @magic_arguments.argument(
        "-s",
        "--source-dir",
        default=None,
        metavar="DIR",
        help="Folder sent with the run. %%%%submit writes the cell there (default: a folder named after the "
        "experiment); %%submit defaults to the script's folder.",
    )
    @magic_arguments.argument(
        "--script", default=None, help="%%%%submit: file the cell is written to (default: train.py)."
    )
    @magic_arguments.argument(
        "--env", default=None, metavar="NAME[:VERSION]", help="A registered Environment (default: the kernel's Python)."
    )
    @magic_arguments.argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="NAME=DATASET[:VERSION][:mount|:download]",
        help="A registered FileDataset as a named input (mount by default); use {NAME} after -- for its path. "
        "Repeatable.",
    )
    @magic_arguments.argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="Run tag. Repeatable.")
    @magic_arguments.argument(
        "--max-seconds", type=int, default=None, metavar="N", help="Cancel the run after N seconds."
    )
    @magic_arguments.argument(
        "--name", default="run", metavar="VAR", help="Variable the Run is bound to (default: run)."
    )
    @magic_arguments.argument(
        "--workspace",
        default=None,
        metavar="VAR",
        help="Variable holding the Workspace (default: `ws` if it is one, else Workspace.from_config()).",
    )
    @magic_arguments.argument(
        "--sweep",
        default=None,
        metavar="VAR",
        help="Sweep the script instead of one run: VAR holds a RandomParameterSampling, GridParameterSampling or "
        "BayesianParameterSampling (the run is then a HyperDriveRun). Needs --metric.",
    )
    @magic_arguments.argument(
        "--metric", default=None, metavar="NAME[:max|min]", help="--sweep: the primary metric and its goal (max)."
    )
    @magic_arguments.argument("--policy", default=None, metavar="VAR", help="--sweep: an early termination policy.")
    @magic_arguments.argument("--max-total-runs", type=int, default=None, metavar="N", help="--sweep: children.")
    @magic_arguments.argument(
        "--max-concurrent-runs", type=int, default=None, metavar="N", help="--sweep: children at once."
    )
    @magic_arguments.argument("--no-widget", action="store_true", help="Do not show RunDetails.")
    @magic_arguments.argument("--wait", action="store_true", help="Block until the run ends.")
    @line_cell_magic
    @no_var_expand  # {name} after -- are dataset placeholders, not IPython variable expansion
    def submit(self, line: str, cell: str | None = None) -> None:
        """Submit a training script as a tracked run; script arguments go after `--`.

        Examples (a line ending with a backslash continues on the next one):

            %%submit --experiment sklearn-mnist --compute cpu-cluster --source-dir sklearn-mnist --script train.py \\
                     --env tutorial-env --input mnist=mnist_opendataset:mount -- --data-folder {mnist} --reg 0.5
            <the training script>

            %submit train.py --source-dir src --experiment exp -- --epochs 3

        A sweep (v1 HyperDrive) of the same cell: the sampled values are appended to the script's arguments.

            sampling = RandomParameterSampling({"--lr": loguniform(-6, -1)})
            %%submit --sweep sampling --metric accuracy:max --max-total-runs 20 --max-concurrent-runs 4
            <the training script>

        The run is bound to `run` (--name) and RunDetails shows under the cell.
        """
        if cell is not None:
            line, cell = join_continued(line, cell)
        options, script_args = split_line(line)
        parser = self.submit.parser
        args, extra = parser.parse_known_args(options)
        if cell is not None and extra and args.script_path:
            # `%%submit --epochs 3`: argparse took "3" as SCRIPT; both belong to the script.
            extra = [t for t in options if t in extra or t == args.script_path]
        if extra:
            hint = " ".join(extra)
            raise UsageError(
                f"unrecognized arguments: {hint}. Arguments for the script go after `--`, e.g. "
                f"`%%submit --experiment exp -- {hint}`. See %submit? for the options."
            )
        if cell is not None and args.script_path:
            raise UsageError(
                f"%%submit takes no SCRIPT ({args.script_path!r}): the cell is the script. Use --script to name its "
                "file, or %submit (one %) for an existing script."
            )
        if cell is None and not (args.script_path or args.script):
            raise UsageError("%submit needs a script: %submit train.py --source-dir src [options] [-- script args]")
        if cell is not None and not cell.strip():
            raise UsageError("%%submit: the cell is empty; write the training script under the magic line.")

        ws = self._workspace(args.workspace)
        from jupyter_amlrun.core.experiment import Experiment

        try:
            experiment = Experiment(ws, args.experiment)
        except UserErrorException as exc:
            raise UsageError(str(exc)) from None
        compute = self._check_compute(ws, args.compute)
        environment = self._environment(ws, args.env)
        inputs = self._inputs(ws, args.input)
        arguments = expand_placeholders(script_args or [], inputs)
        source_dir, script = self._script(args, cell)
        tags = parse_tags(args.tag)

        from jupyter_amlrun.core.runconfig import MAX_DURATION_SECONDS_DEFAULT, ScriptRunConfig

        try:
            config = ScriptRunConfig(
                source_directory=str(source_dir),
                script=script,
                arguments=arguments,
                compute_target=compute,
                environment=environment,
                max_run_duration_seconds=args.max_seconds or MAX_DURATION_SECONDS_DEFAULT,
            )
            used = {id(a) for a in arguments}
            for name, cfg in inputs.items():
                if id(cfg) not in used:
                    # Inputs not named in the arguments still reach the run (env var, input_datasets) through data.
                    config.run_config.data[name] = cfg
            if args.sweep is not None:
                config = self._sweep_config(args, config)
            run = experiment.submit(config, tags=tags or None)
        except UserErrorException as exc:
            raise UsageError(str(exc)) from None
        if cell is not None:  # %%submit: the notebook it came from (properties, a copy under outputs/notebook/)
            from jupyter_amlrun.notebook.origin import record_notebook

            try:
                record_notebook(run, line, cell, getattr(self.shell, "execution_count", None))
            except Exception as exc:  # the run is submitted: a failed record must not hide it
                print(f"Note: could not record the notebook of run {run.id}: {exc}")
        if self.shell is not None:
            self.shell.user_ns[args.name] = run
        if not args.no_widget:
            RunDetails(run).show()
        else:
            print(f"Submitted run {run.id} (experiment {experiment.name}); bound to `{args.name}`.")
        if args.wait:
            try:
                run.wait_for_completion(raise_on_error=False)
            except KeyboardInterrupt:
                print("Stopped waiting; the run goes on. Cancel it with run.cancel().")
            if args.no_widget:
                print(f"Run {run.id}: {run.get_status()}")

    def _sweep_config(self, args: Any, config: Any) -> Any:
        """``--sweep VAR``: a HyperDriveConfig around the cell's ScriptRunConfig (``%%submit`` reads best for it:
        the cell stays the training script; the sampling is a Python value, too rich for a magic line)."""
        from jupyter_amlrun.train.hyperdrive import EarlyTerminationPolicy, HyperDriveConfig, HyperParameterSampling

        ns = self.shell.user_ns if self.shell is not None else {}
        sampling = ns.get(args.sweep)
        if not isinstance(sampling, HyperParameterSampling):
            what = "no such variable" if args.sweep not in ns else f"a {type(sampling).__name__}"
            raise UsageError(
                f"--sweep {args.sweep}: {what}; it must name a RandomParameterSampling, GridParameterSampling or "
                "BayesianParameterSampling, e.g. sampling = RandomParameterSampling({'--lr': uniform(0.01, 0.1)})."
            )
        if not args.metric:
            raise UsageError("--sweep needs --metric NAME[:max|min], the metric the script logs (run.log).")
        name, _, goal = args.metric.partition(":")
        goals = {"": "MAXIMIZE", "max": "MAXIMIZE", "min": "MINIMIZE"}
        if goal.lower() not in goals:
            raise UsageError(f"--metric {args.metric}: the goal must be max or min, e.g. --metric loss:min.")
        policy = None
        if args.policy is not None:
            policy = ns.get(args.policy)
            if not isinstance(policy, EarlyTerminationPolicy):
                raise UsageError(f"--policy {args.policy}: not a BanditPolicy, MedianStoppingPolicy, ... variable.")
        return HyperDriveConfig(
            run_config=config,
            hyperparameter_sampling=sampling,
            policy=policy,
            primary_metric_name=name,
            primary_metric_goal=goals[goal.lower()],
            max_total_runs=args.max_total_runs,
            max_concurrent_runs=args.max_concurrent_runs,
        )

    def _check_compute(self, ws: Any, name: str) -> str:
        if name == "local":
            return name
        try:
            known = sorted(ws.compute_targets)
        except AmlRunError as exc:
            raise UsageError(str(exc)) from None
        if name not in known:
            raise UsageError(
                f"Unknown compute target {name!r}. Known: {', '.join(['local', *known])}. Create one with "
                f"ComputeTarget.create(ws, {name!r}, AmlCompute.provisioning_configuration(max_nodes=2))."
            )
        return name

    def _environment(self, ws: Any, spec: str | None) -> Any:
        if not spec:
            return None
        from jupyter_amlrun.core.environment import Environment

        name, _, version = spec.partition(":")
        try:
            return Environment.get(ws, name, version=version or None)
        except UserErrorException as exc:
            raise UsageError(f"Unknown environment {spec!r}: {exc}") from None

    def _inputs(self, ws: Any, specs: list[str]) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        if not specs:
            return inputs
        try:
            from jupyter_amlrun.data.dataset import Dataset
        except ImportError as exc:
            raise UsageError(f"--input needs the datasets package, which cannot load here: {exc}") from None
        for spec in specs:
            name, dataset_name, version, mode = parse_input(spec)
            if name in inputs:
                raise UsageError(f"--input {name}=...: the input name {name!r} is given twice.")
            try:
                dataset = Dataset.get_by_name(ws, dataset_name, version=version or "latest")
            except Exception as exc:
                text = str(exc)
                if "Registered datasets" not in text:
                    text += f" Registered datasets: {', '.join(_dataset_names(ws, Dataset)) or 'none'}."
                raise UsageError(f"Unknown dataset {dataset_name!r} for --input {name}: {text}") from None
            try:
                named = dataset.as_named_input(name)
                inputs[name] = named.as_mount() if mode == "mount" else named.as_download()
            except UserErrorException as exc:
                raise UsageError(f"--input {spec}: {exc}") from None
        return inputs

    def _script(self, args: Any, cell: str | None) -> tuple[Path, str]:
        if cell is not None:
            source = Path(args.source_dir or args.experiment).expanduser()
            if source.exists() and not source.is_dir():
                flag = "--source-dir" if args.source_dir else "The folder named after --experiment"
                raise UsageError(
                    f"{flag} {str(source)!r} is a file, not a folder: %%submit writes the cell into that folder. "
                    "Pass a folder path (it is created if missing)."
                )
            script = args.script or "train.py"
            target = (source / script).resolve()
            if not target.is_relative_to(source.resolve()):
                raise UsageError(f"--script {script!r} must be a path inside --source-dir {str(source)!r}.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(cell if cell.endswith("\n") else cell + "\n", encoding="utf-8")
            return source, script
        given = args.script_path or args.script
        if args.source_dir:
            source = Path(args.source_dir).expanduser()
            if source.exists() and not source.is_dir():
                raise UsageError(f"--source-dir {str(source)!r} is a file, not a folder. Pass the script's folder.")
            if not (source / given).is_file():
                raise UsageError(f"Script {given!r} not found in --source-dir {str(source)!r}.")
            return source, given
        path = Path(given).expanduser()
        if not path.is_file():
            raise UsageError(f"Script {given!r} not found (from {Path.cwd()}). Give --source-dir or a path to it.")
        return path.parent, path.name

    # ------------------------------------------------------------------ %amlrun
    @readable_help
    @magic_arguments.magic_arguments()
    @magic_arguments.argument("action", metavar="ACTION", help="One of: " + ", ".join(AMLRUN_ACTIONS) + ".")
    @magic_arguments.argument("target", nargs="?", metavar="ARG", help="An experiment (runs) or a run id.")
    @magic_arguments.argument("--limit", type=int, default=20, help="runs: how many (default 20).")
    @magic_arguments.argument("--file", default=None, help="logs: which log file (default: the user's stdout).")
    @magic_arguments.argument(
        "--older-than", type=float, default=None, metavar="DAYS", help="envs prune: only those unused for DAYS."
    )
    @magic_arguments.argument(
        "--workspace",
        default=None,
        metavar="VAR",
        help="Variable holding the Workspace (default: `ws`, else from config).",
    )
    @line_magic
    def amlrun(self, line: str) -> None:
        """List and act on the workspace.

        ::

            %amlrun runs [EXPERIMENT]      runs, newest first
            %amlrun details RUN_ID         the run's details
            %amlrun logs RUN_ID [--file F] a run's log (default: the script's output)
            %amlrun cancel RUN_ID          cancel a run
            %amlrun show RUN_ID            RunDetails of a run
            %amlrun models                 registered models
            %amlrun datastores             registered datastores
            %amlrun envs                   registered environments and the built (cached) virtualenvs
            %amlrun envs prune [--older-than DAYS]   delete cached virtualenvs no live run uses
            %amlrun tensorboard RUN_ID[,RUN_ID...]   TensorBoard over the runs' logs/ (live while running)
            %amlrun tensorboard stop       stop it
            %amlrun workspace              the workspace in use
            %amlrun port PATH... [--out FOLDER] [--no-backup] [--dry-run]
                                           port v1 notebooks/scripts (azureml imports -> jupyter_amlrun), report
            %amlrun notify off|on          JupyterLab's notice when a run shown here ends while you look elsewhere
        """
        argv, rest = split_line(line)
        if rest is not None:
            raise UsageError("%amlrun takes no `--` arguments.")
        if argv[:1] == ["port"]:
            self._amlrun_port(argv[1:])
            return
        if argv[:1] == ["notify"]:
            self._amlrun_notify(argv[1:])
            return
        args = self.amlrun.parser.parse_args(argv)
        if args.action not in AMLRUN_ACTIONS:
            raise UsageError(f"Unknown action {args.action!r}. Use one of: {', '.join(AMLRUN_ACTIONS)}.")
        ws = self._workspace(args.workspace)
        needs_run = ("details", "logs", "cancel", "show", "tensorboard")
        if args.action in needs_run and not args.target:
            raise UsageError(f"%amlrun {args.action} needs a run id: %amlrun {args.action} RUN_ID")
        try:
            getattr(self, f"_amlrun_{args.action}")(ws, args)
        except UserErrorException as exc:
            raise UsageError(str(exc)) from None

    def _amlrun_notify(self, argv: list[str]) -> None:
        """``%amlrun notify off|on``: whether the runs this kernel shows from now on raise JupyterLab's notice when
        they end (the setting travels in each RunDetails output's marker; needs no workspace)."""
        if argv not in (["on"], ["off"]):
            raise UsageError(f"%amlrun notify takes on or off, got {' '.join(argv) or 'nothing'}: %amlrun notify off")
        set_notify(argv[0] == "on")
        print(f"Notices when a run ends: {argv[0]} (for the runs shown from now on).")

    def _amlrun_port(self, argv: list[str]) -> None:
        """``%amlrun port``: the same as ``jupyter amlrun port`` (needs no workspace); prints the report."""
        from jupyter_amlrun.porting.port import run_port

        try:
            text, _code = run_port(argv, prog="%amlrun port")
        except SystemExit as exc:  # argparse already printed the usage and the problem
            raise UsageError("%amlrun port: see the usage above.") from exc
        except UserErrorException as exc:
            raise UsageError(str(exc)) from None
        print(text)

    def _amlrun_runs(self, ws: Any, args: Any) -> None:
        from jupyter_amlrun.core.experiment import Experiment

        if args.target:
            if args.target not in ws.experiments:
                raise UsageError(
                    f"No experiment {args.target!r}. Experiments: {', '.join(sorted(ws.experiments)) or 'none'}."
                )
            experiments = [Experiment(ws, args.target)]
        else:
            experiments = list(ws.experiments.values())
        rows = []
        for exp in experiments:
            for run in exp.get_runs():
                rec = run.record
                rows.append((rec.start_time or 0, exp.name, run))
        rows.sort(key=lambda r: -r[0])
        table = []
        for _t, exp_name, run in rows[: args.limit]:
            d = run.get_details()
            table.append(
                [
                    exp_name,
                    run.id,
                    d["status"],
                    local_time(d.get("startTimeUtc")),
                    duration_text(d),
                    d["runDefinition"].get("script") or "",
                ]
            )
        _show_table(["Experiment", "Run", "Status", "Started", "Duration", "Script"], table)

    def _run(self, ws: Any, run_id: str) -> Any:
        from jupyter_amlrun.core.run import Run

        return Run.get(ws, run_id)

    def _amlrun_details(self, ws: Any, args: Any) -> None:
        run = self._run(ws, args.target)
        details = {**run.get_details(), "experiment": run.experiment.name}
        # The widget's header: the same fields, texts and rules (view/model.py).
        header = header_view(run.id, details["status"], details)
        rows = [[f["label"], f["text"]] for f in header["fields"]]
        if header["error"]:
            rows.append(["Error", header["error"]])
        _show_table(["Field", "Value"], rows)

    def _amlrun_logs(self, ws: Any, args: Any) -> None:
        run = self._run(ws, args.target)
        # The one reader of a run: the run folder's logs, or the uploaded ones of a run whose folder is gone.
        with contextlib.closing(RunReader(ws, run.id, record=run.record)) as reader:
            names = reader.log_names()
            if not names:
                print(f"Run {run.id} has no logs yet.")
                return
            name = args.file or main_log(names) or names[0]
            if name not in names:
                matches = [n for n in names if n.endswith(name)]
                if len(matches) != 1:
                    raise UsageError(f"No log {name!r} for run {run.id}. Logs: {', '.join(names)}.")
                name = matches[0]
            got = reader.read_log(name)
            text = got.text if got is not None else ""
        print(f"{name} ({', '.join(names)})\n{'=' * (len(name) + 10)}")
        print(text, end="" if text.endswith("\n") else "\n")

    def _amlrun_cancel(self, ws: Any, args: Any) -> None:
        run = self._run(ws, args.target)
        run.cancel()
        print(f"Cancel requested for run {run.id}; status now {run.get_status()}.")

    def _amlrun_tensorboard(self, ws: Any, args: Any) -> None:
        from jupyter_amlrun.notebook.tensorboard import Tensorboard

        previous = getattr(self, "_tensorboard", None)
        if previous is not None:
            previous.stop()
            self._tensorboard = None
        if args.target == "stop":
            print("TensorBoard stopped." if previous is not None else "No TensorBoard was running.")
            return
        runs = [self._run(ws, run_id.strip()) for run_id in args.target.split(",") if run_id.strip()]
        tb = Tensorboard(runs, port=None)
        tb.start()
        self._tensorboard = tb

    def _amlrun_show(self, ws: Any, args: Any) -> None:
        RunDetails(self._run(ws, args.target)).show()

    def _amlrun_models(self, ws: Any, args: Any) -> None:
        from jupyter_amlrun.core.model import Model

        rows = [
            [
                m.name,
                m.version,
                m.run_id or "",
                local_time(m.created_time),
                ", ".join(f"{k}={v}" for k, v in m.tags.items()),
            ]
            for m in Model.list(ws)
        ]
        _show_table(["Model", "Version", "Run", "Created", "Tags"], rows)

    def _amlrun_datastores(self, ws: Any, args: Any) -> None:
        try:
            stores = ws.datastores
            default = ws.get_default_datastore()
        except ImportError as exc:
            raise UsageError(f"Datastores are not available here: {exc}") from None
        default_name = getattr(default, "name", None)
        rows = [
            [name, getattr(ds, "datastore_type", type(ds).__name__), "yes" if name == default_name else ""]
            for name, ds in sorted(stores.items())
        ]
        _show_table(["Datastore", "Type", "Default"], rows)

    def _amlrun_envs(self, ws: Any, args: Any) -> None:
        from jupyter_amlrun.core.environment import Environment

        if args.target not in (None, "prune"):
            raise UsageError(f"%amlrun envs takes no argument or 'prune', got {args.target!r}.")
        if args.target == "prune":
            removed = Environment.prune_cache(ws, older_than_days=args.older_than)
            print(f"Removed {len(removed)} cached environment(s): {', '.join(k[:12] for k in removed) or 'none'}.")
            return
        rows = [
            [name, env.version or "", ", ".join(env.python.conda_dependencies.pip_packages) or "(none)"]
            for name, env in sorted(Environment.list(ws).items())
        ]
        _show_table(["Environment", "Version", "pip packages"], rows)
        built = [
            [
                str(c["key"])[:12],
                str(c.get("name", "")),
                str(c.get("python", "")),
                ", ".join(c.get("pip") or []) + (" +conda " + ", ".join(c["conda"]) if c.get("conda") else ""),
                f"{c['size_mb']:.1f} MB",
                time.strftime("%Y-%m-%d %H:%M", time.localtime(float(c["last_used"]))),
                "yes" if c["in_use"] else "",
            ]
            for c in Environment.list_cache(ws)
        ]
        _show_table(["Built env", "Name", "Python", "Packages", "Size", "Last used", "In use"], built)

    def _amlrun_workspace(self, ws: Any, args: Any) -> None:
        _show_table(["Field", "Value"], [[k, v] for k, v in ws.get_details().items()])


def _dataset_names(ws: Any, dataset_cls: Any) -> list[str]:
    try:
        found = dataset_cls.get_all(ws)
    except Exception:
        return []
    if isinstance(found, dict):
        return sorted(found)
    return sorted(str(getattr(d, "name", d)) for d in found)


# ---------------------------------------------------------------------- Tab completion
_VALUE_FLAGS = {"--compute", "-c", "--env", "--input", "-i", "--experiment", "-e", "--workspace"}


def _names_for(flag: str, prefix: str, shell: Any) -> list[str]:
    """Completion candidates for the value of ``flag`` (names read from the workspace)."""
    magics = AmlRunMagics(shell)
    try:
        ws = magics._workspace(None)
    except Exception:
        return []
    try:
        if flag in ("--compute", "-c"):
            return ["local", *sorted(ws.compute_targets)]
        if flag == "--env":
            return sorted(ws.environments)
        if flag in ("--experiment", "-e"):
            return sorted(ws.experiments)
        if flag in ("--input", "-i"):
            if "=" not in prefix:
                return []
            name = prefix.split("=", 1)[0]
            from jupyter_amlrun.data.dataset import Dataset

            return [f"{name}={d}" for d in _dataset_names(ws, Dataset)]
    except Exception:
        return []
    return []


def _flags() -> list[str]:
    parser = AmlRunMagics.submit.parser
    return sorted(s for a in parser._actions for s in a.option_strings if s.startswith("--"))


@context_matcher()
def complete_magics(context: CompletionContext) -> SimpleMatcherResult:
    """Tab completion after ``%%submit``/``%submit``: option names, compute targets, environments, datasets."""
    line = context.text_until_cursor
    stripped = line.lstrip()
    if not (stripped.startswith("%%submit") or stripped.startswith("%submit")):
        return {"completions": [], "suppress": False}
    try:
        words = shlex.split(stripped, posix=True)
    except ValueError:
        words = stripped.split()
    if line.endswith((" ", "\t")):
        words.append("")
    if "--" in words[:-1]:
        return {"completions": [], "suppress": False}  # script arguments: leave them to the defaults
    current = words[-1] if words else ""
    previous = words[-2] if len(words) > 1 else ""
    from IPython import get_ipython

    if previous in _VALUE_FLAGS:
        candidates = _names_for(previous, current, get_ipython())
    elif current.startswith("-"):
        candidates = _flags()
    else:
        return {"completions": [], "suppress": False}
    # The completion replaces the current word, so compute how far back it starts in the token.
    matches = [c for c in candidates if c.startswith(current)]
    token = context.token
    cut = len(current) - len(token)
    completions = [SimpleCompletion(text=m[cut:] if cut > 0 else m, type="param") for m in matches]
    return {"completions": completions, "suppress": bool(completions)}


# ---------------------------------------------------------------------- extension entry points
# What the first %%submit imports (public modules; no import cycle among them: the layers check); MLflow it need not
SUBMIT_PATH_MODULES = (
    "jupyter_amlrun.core.workspace",
    "jupyter_amlrun.core.experiment",
    "jupyter_amlrun.core.runconfig",
    "jupyter_amlrun.core.environment",
    "jupyter_amlrun.runtime.snapshot",
    "jupyter_amlrun.runtime.launch",
    "jupyter_amlrun.core.computetarget",
    "jupyter_amlrun.compute.local",
    "jupyter_amlrun.widgets",
)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%submit``, ``%submit``, ``%amlrun`` and their Tab completion."""
    ipython.register_magics(AmlRunMagics)
    completer = getattr(ipython, "Completer", None)
    if completer is not None and complete_magics not in completer.custom_matchers:
        completer.custom_matchers.append(complete_magics)
    from jupyter_amlrun.tracking.store import preload

    # The submit path's imports, then MLflow's ~2 s, happen while the user writes the first %%submit cell; a submit
    # before MLflow is in does not wait for it (tracking/sqlite_direct.py)
    preload(SUBMIT_PATH_MODULES)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and the completion hook, and stop every RunDetails thread."""
    manager = ipython.magics_manager
    for kind, names in (("line", ("submit", "amlrun")), ("cell", ("submit",))):
        for name in names:
            manager.magics[kind].pop(name, None)
    completer = getattr(ipython, "Completer", None)
    if completer is not None and complete_magics in completer.custom_matchers:
        completer.custom_matchers.remove(complete_magics)
    from jupyter_amlrun.notebook import widget

    for w in list(widget._live):
        w.stop()
