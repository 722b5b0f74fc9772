"""``OutputFileDatasetConfig`` (v1: ``azureml.data.OutputFileDatasetConfig``): a run output written to a datastore.

The script writes files to a local folder (the *source*, given to it as the ``DatasetOutputConfig:<name>`` argument,
the env var ``<name>`` and ``Run.get_context().output_datasets``); when the run Completes the driver uploads them to
the *destination* ``(datastore, path)`` and, if asked, registers that path as a FileDataset.

- ``as_mount()`` (the default, as v1): on a folder datastore with no explicit source the script writes straight into
  the destination folder (nothing to copy); anywhere else the files are uploaded at the end, as ``as_upload()``.
- Only a Completed run uploads (as v1). A failed or canceled run uploads nothing: its files are kept under
  ``<run folder>/outputs-kept/<name>`` (the working folder is removed when the run ends) and the log names them.
- An upload or registration that fails turns the run Failed (a run that lost its output data never reads Completed);
  the files are kept the same way and the error names the folder.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.contracts import InputMaterializer, Log, MaterializedInputs
from jupyter_amlrun.data.datastore import PART_MARK, Datastore, normalize_path
from jupyter_amlrun.data.errors import DatasetException
from jupyter_amlrun.runtime.status import RunStatus

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

_TEMPLATE = "DatasetOutputConfig:{}"  # v1's _DATASET_OUTPUT_ARGUMENT_TEMPLATE
DEFAULT_PATH = "dataset/{run-id}/{output-name}"  # v1's default destination path
SOURCE_FOLDER = "outputs-datasets"  # default sources: <run workdir>/outputs-datasets/<name>
KEPT_FOLDER = "outputs-kept"  # <run folder>/outputs-kept/<name>: survives the removal of the workdir
FILE_OUTPUTS_ENV = "AZUREML_DATASET_FILE_OUTPUTS"  # v1: ";"-separated output names
MODES = ("mount", "upload")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AFTER_RUN = (
    "After the run, read what it wrote with Dataset.File.from_files((datastore, path)) (the path is in "
    "run.get_details()['outputDatasets']), or register_on_complete(name) and Dataset.get_by_name(ws, name)."
)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DatasetException(
            f'Invalid output name "{name}". The name can only be alphanumeric characters and underscore, and must '
            "not begin with a number (it becomes an environment variable of the run)."
        )
    return name


def _check_path(path: Any) -> str:
    """A destination path template: relative, inside the datastore (``..`` would escape it)."""
    if not isinstance(path, str):
        raise DatasetException(f"The destination path must be a string, got {type(path).__name__}.")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        raise DatasetException(
            f"Destination path {path!r} is absolute; give a path relative to the datastore's root, "
            "e.g. 'outputs/{run-id}'."
        )
    if ".." in re.split(r"[/\\]", path):
        raise DatasetException(f"Destination path {path!r} contains '..'; it must stay inside the datastore.")
    return path


def _check_globs(source_globs: Any) -> list[str] | None:
    if source_globs is None:
        return None
    globs = [source_globs] if isinstance(source_globs, str) else source_globs
    if not isinstance(globs, list | tuple) or not globs or not all(isinstance(g, str) and g for g in globs):
        raise DatasetException(f"source_globs must be a glob or a non-empty list of globs, got {source_globs!r}.")
    return list(globs)


def expand_path(template: str, run_id: str, name: str) -> str:
    """The destination path of one run: ``{run-id}`` and ``{output-name}`` replaced, normalised."""
    path = template.replace("{run-id}", run_id).replace("{output-name}", name)
    return normalize_path(_check_path(path), what="destination path")


class OutputFileDatasetConfig:
    name: str = ""  # v1 has it on the class; set per instance (a generated name when none is given)

    """A folder the script writes to, uploaded to a datastore when the run completes (v1 API).

    Pass it in ``ScriptRunConfig(arguments=[...])`` (the script gets the local folder's absolute path) or in
    ``run_config.data``; the script can also read ``Run.get_context().output_datasets[name]`` or the env var
    ``<name>``.

    Parameters
    ----------
    name:
        Output name (letters, digits, underscores; not starting with a digit); default ``output_<8 hex>``.
    destination:
        ``(datastore, path)``; the path may hold ``{run-id}`` and ``{output-name}``. Default: the workspace's
        default datastore (resolved on the target) and ``dataset/{run-id}/{output-name}``.
    source:
        The folder on the compute the script writes to; relative paths are relative to the run's working folder.
        Default: ``<run working folder>/outputs-datasets/<name>`` (or, in mount mode on a folder datastore, the
        destination folder itself).
    partition_format:
        Refused (partitioned outputs are not supported).

    Raises
    ------
    DatasetException
        A bad name, a destination that is not ``(Datastore, relative path)``, or ``partition_format``.
    """

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Datastore, str] | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        if partition_format is not None:
            raise DatasetException(
                "partition_format is not supported for OutputFileDatasetConfig here: write the partition folders "
                "yourself (e.g. os.path.join(output, 'year=2024', 'part.csv')) and read them back with "
                "Dataset.File.from_files((datastore, 'path/**')) after the run."
            )
        self.name = _check_name(name if name is not None else f"output_{uuid.uuid4().hex[:8]}")
        self.datastore: Datastore | None = None
        self.path_template = DEFAULT_PATH
        if destination is not None:
            if not (isinstance(destination, tuple) and len(destination) == 2):
                raise DatasetException(
                    f"destination must be a tuple (datastore, 'path'), got {type(destination).__name__}."
                )
            store, path = destination
            if not isinstance(store, Datastore):
                raise DatasetException(
                    f"destination[0] must be a Datastore (ws.get_default_datastore() or Datastore.get(ws, name)), "
                    f"got {type(store).__name__}."
                )
            self.datastore = store
            self.path_template = _check_path(path)
            normalize_path(path, what="destination path")  # bad characters are refused now, not on the target
        if source is not None and (not isinstance(source, str) or not source.strip()):
            raise DatasetException(f"source must be a non-empty path string, got {source!r}.")
        self.source = source
        self.mode = "mount"
        self.overwrite = False
        self.source_globs: list[str] | None = None
        self._register: dict[str, Any] | None = None

    # -- modes and registration (each returns a new config, as v1)
    def _copy(self) -> OutputFileDatasetConfig:
        return copy.copy(self)

    def as_upload(
        self, overwrite: bool = False, source_globs: str | list[str] | None = None
    ) -> OutputFileDatasetConfig:
        """Upload the source folder's files to the destination when the run completes.

        Parameters
        ----------
        overwrite:
            Replace files that exist at the destination; otherwise an existing file fails the run (its files are
            kept and the error says where).
        source_globs:
            Only upload the files whose path below the source matches one of these globs (``*.csv``,
            ``**/*.png``).
        """
        out = self._copy()
        out.mode, out.overwrite, out.source_globs = "upload", bool(overwrite), _check_globs(source_globs)
        return out

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:
        """Mount mode: a folder datastore is written in place; other datastores are uploaded when the run completes
        (said in the run's log)."""
        out = self._copy()
        out.mode, out.overwrite, out.source_globs = "mount", False, None
        return out

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        """Register the destination as the FileDataset ``name`` when the run completes (a new version if the name
        exists)."""
        from jupyter_amlrun.data.dataset import _NAME_RE as DATASET_NAME_RE

        if not isinstance(name, str) or not DATASET_NAME_RE.match(name):
            raise DatasetException(
                f"Invalid dataset name {name!r}: start with a letter or digit, then letters, digits, '_', '-', '.' "
                "or spaces."
            )
        if tags is not None and not isinstance(tags, dict):
            raise DatasetException("tags must be a dict of str -> str.")
        out = self._copy()
        out._register = {
            "name": name,
            "description": description,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
        }
        return out

    # -- refused: what they need is not here
    def read_delimited_files(self, *args: Any, **kwargs: Any) -> Any:
        raise DatasetException(
            "OutputFileDatasetConfig.read_delimited_files (an output read as a table by a later pipeline step) is "
            f"not supported: pipelines are not. {_AFTER_RUN} Then Dataset.Tabular.from_delimited_files((datastore, "
            "path + '/*.csv'))."
        )

    def read_parquet_files(self, *args: Any, **kwargs: Any) -> Any:
        raise DatasetException(
            "OutputFileDatasetConfig.read_parquet_files (an output read as a table by a later pipeline step) is not "
            f"supported: pipelines are not. {_AFTER_RUN} Then Dataset.Tabular.from_parquet_files((datastore, "
            "path + '/*.parquet'))."
        )

    def as_input(self, name: str | None = None) -> Any:
        raise DatasetException(
            "OutputFileDatasetConfig.as_input (an output consumed by a later pipeline step) is not supported: "
            f"pipelines are not. {_AFTER_RUN} Pass that dataset to the next run with .as_named_input(n).as_mount()."
        )

    def partition_by(self, *args: Any, **kwargs: Any) -> Any:
        raise DatasetException(
            "OutputFileDatasetConfig.partition_by is not supported: write the partition folders in the script."
        )

    # -- in a run
    @property
    def arg_val(self) -> str:
        return _TEMPLATE.format(self.name)

    def __amlrun_input__(self) -> tuple[str, dict[str, Any]]:
        spec = {
            "kind": "output",
            "name": self.name,
            "mode": self.mode,
            "datastore": self.datastore.name if self.datastore is not None else None,
            "path": self.path_template,
            "source": self.source,
            "overwrite": self.overwrite,
            "source_globs": self.source_globs,
            "register": self._register,
        }
        return self.arg_val, spec

    def __str__(self) -> str:
        return self.arg_val

    def __repr__(self) -> str:
        # Names only: a datastore's repr could carry an account; the name is all that is needed to find it.
        store = self.datastore.name if self.datastore is not None else "<default datastore>"
        extra = f", register={self._register['name']!r}" if self._register else ""
        return (
            f"OutputFileDatasetConfig(name={self.name!r}, mode={self.mode!r}, destination=({store!r}, "
            f"{self.path_template!r}), source={self.source!r}{extra})"
        )


# ====================================================================== on the target (the driver)
@dataclass
class _Output:
    spec: dict[str, Any]
    store: Datastore
    path: str  # resolved destination path
    source: Path
    in_place: bool  # written straight into a folder datastore
    registered: dict[str, Any] | None = None
    kept: Path | None = None
    uploaded: int = 0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def where(self) -> str:
        return f"({self.store.name!r}, {self.path or '/'!r})"

    def lineage(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "mode": self.spec.get("mode"),
            "datastore": self.store.name,
            "path": self.path,
        }
        if self.registered:
            doc.update(self.registered)
        if self.kept is not None:
            doc["kept"] = str(self.kept)
        return doc


class OutputMaterializer(InputMaterializer):
    """The ``output`` kind: makes each output's source folder before the script, uploads it when the run completes.

    See the module docstring for what happens on failure.
    """

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self._outputs: list[_Output] = []
        self._run_root: Path | None = None

    def materialize(self, inputs: list[dict[str, Any]], run_root: Path, log: Log) -> MaterializedInputs:
        """Resolve each output's destination and create its source folder; the script gets the folder's path."""
        from jupyter_amlrun.data.consumption import _place

        self._run_root = run_root
        run_id = run_root.name
        workdir = run_root / "wd"
        out = MaterializedInputs()
        names: list[str] = []
        for spec in inputs:
            name = str(spec["name"])
            store = (
                Datastore.get(self.workspace, spec["datastore"])
                if spec.get("datastore")
                else Datastore.get_default(self.workspace)
            )
            template = spec.get("path")
            path = expand_path(DEFAULT_PATH if template is None else str(template), run_id, name)
            local = store.local_root()
            in_place = spec.get("mode") == "mount" and local is not None and not spec.get("source")
            if in_place:
                assert local is not None
                source = local / path if path else local
                log(
                    f"Output '{name}': mount mode, folder datastore {store.name!r}: the script writes straight into "
                    f"{source}, destination ({store.name!r}, {path!r})"
                )
            else:
                source = _place(spec.get("source"), workdir, workdir / SOURCE_FOLDER / name).absolute()
                if spec.get("mode") == "upload":
                    why = ""
                elif local is None:
                    why = f" (mount mode: {store.datastore_type} datastore {store.name!r} is uploaded at the end)"
                else:
                    why = " (mount mode with a source folder of its own: uploaded at the end)"
                log(
                    f"Output '{name}': the script writes to {source}; uploaded to ({store.name!r}, {path!r}) when "
                    f"the run completes{why}"
                )
            source.mkdir(parents=True, exist_ok=True)
            self._outputs.append(_Output(spec, store, path, source, in_place))
            out.replacements[_TEMPLATE.format(name)] = str(source)
            out.env[name] = str(source)
            out.env[f"AZURE_ML_OUTPUT_{name}"] = str(source)
            names.append(name)
        if names:
            out.env[FILE_OUTPUTS_ENV] = ";".join(names)
        return out

    def complete(self, status: str, log: Log) -> str | None:
        """Upload (and register) each output if the run Completed; keep the files otherwise.

        Returns
        -------
        str | None
            What went wrong (the driver fails the run with it), or None.
        """
        if not self._outputs:
            return None
        problems: list[str] = []
        if status != RunStatus.COMPLETED:
            for o in self._outputs:
                kept = self._keep(o)
                if o.in_place:
                    log(
                        f"Output '{o.name}': the run ended {status}; what the script wrote stays in place in {kept} "
                        "(mount mode on a folder datastore writes straight into it) and is not registered"
                    )
                else:
                    log(
                        f"Output '{o.name}': the run ended {status}, so nothing was uploaded to {o.where} (outputs "
                        f"are uploaded only when a run completes); the files the script wrote are kept in {kept}"
                    )
        else:
            for o in self._outputs:
                try:
                    self._upload(o, log)
                    self._register(o, log)
                except Exception as exc:
                    kept = self._keep(o)
                    message = (
                        f"Output '{o.name}' could not be saved to {o.where}: {exc} The files the script wrote are kept "
                        f"in {kept}."
                    )
                    log(f"Error: {message}")
                    problems.append(message)
        self._record_lineage(log)
        return "\n".join(problems) or None

    def _files(self, o: _Output) -> list[Path]:
        from jupyter_amlrun.data.dataset import glob_to_regex

        globs = [glob_to_regex(g) for g in o.spec.get("source_globs") or []]
        files = []
        for root, dirs, names in os.walk(o.source):
            dirs.sort()
            for fname in sorted(names):
                local = Path(root) / fname
                rel = local.relative_to(o.source).as_posix()
                if PART_MARK in fname or not local.is_file():
                    continue
                if globs and not any(g.match(rel) for g in globs):
                    continue
                files.append(local)
        return files

    def _upload(self, o: _Output, log: Log) -> None:
        if o.in_place:
            count = len(self._files(o))
            log(f"Output '{o.name}': {count} files written in place to {o.where}; nothing to upload")
            o.uploaded = count
            return
        if not o.source.is_dir():
            raise DatasetException(f"the source folder {o.source} is gone (the script removed it?).")
        files = self._files(o)
        if not files:
            globs = o.spec.get("source_globs")
            log(
                f"Output '{o.name}': {o.source} holds no files"
                + (f" matching source_globs {globs}" if globs else "")
                + f"; nothing uploaded to {o.where}"
            )
            return
        rels = [f.relative_to(o.source).as_posix() for f in files]
        targets = [posixpath.join(o.path, r) if o.path else r for r in rels]
        if not o.spec.get("overwrite"):
            try:
                existing = {e.path for e in o.store.list_files(o.path)}
            except Exception as exc:
                o.store._raise_clean(exc)
            clashes = [t for t in targets if t in existing]
            if clashes:
                raise DatasetException(
                    f"{len(clashes)} of its {len(targets)} files already exist at the destination, e.g. "
                    f"{clashes[0]!r}, and the output was configured with as_upload(overwrite=False): nothing was "
                    "uploaded. Use as_upload(overwrite=True), or a destination path with {run-id} in it."
                )
        log(f"Uploading output '{o.name}': {len(files)} files from {o.source} to {o.where}")
        # The pairs go straight to the transfer step: upload_files resolves symlinks, and a file the script linked
        # from elsewhere would then be "outside" the source; here it is uploaded with its target's content.
        o.store._upload_pairs(list(zip(files, targets, strict=True)), o.path, overwrite=True, show_progress=False)
        o.uploaded = len(files)
        log(f"Uploaded output '{o.name}': {len(files)} files to {o.where}")

    def _register(self, o: _Output, log: Log) -> None:
        reg = o.spec.get("register")
        if not reg:
            return
        if not o.uploaded and not o.store.list_files(o.path):
            # A dataset of no files cannot be read back: say so rather than register an empty definition.
            log(f"Output '{o.name}': no files at {o.where}, so dataset {reg['name']!r} was not registered")
            return
        from jupyter_amlrun.data.dataset import Dataset

        ds = Dataset.File.from_files((o.store, o.path), validate=True).register(
            self.workspace,
            reg["name"],
            description=reg.get("description"),
            tags=reg.get("tags"),
            create_new_version=True,
        )
        o.registered = {"dataset_name": ds.name, "dataset_version": ds.version, "dataset_id": ds.id}
        log(f"Registered output '{o.name}' as dataset {ds.name!r} version {ds.version} ({o.where})")

    def _keep(self, o: _Output) -> Path:
        """Where the output's files survive the end of the run: moved out of the working folder if they are in it."""
        if o.in_place or self._run_root is None:
            o.kept = o.source
            return o.source
        workdir = (self._run_root / "wd").absolute()
        source = o.source.absolute()
        if not source.is_relative_to(workdir) or not source.exists():
            o.kept = source  # not ours to move (an absolute source outside the run): it stays where it is
            return source
        kept = self._run_root / KEPT_FOLDER / o.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        if source == workdir:
            shutil.copytree(source, kept, symlinks=True, dirs_exist_ok=True)
        else:
            os.replace(source, kept)  # same file system (both in the run folder): a rename, whatever the size
        o.kept = kept
        return kept

    def _record_lineage(self, log: Log) -> None:
        """The resolved outputs as the run's ``amlrun.outputs`` tag (``get_details()['outputDatasets']``)."""
        from jupyter_amlrun.runtime import tags as T
        from jupyter_amlrun.runtime.lifecycle import store_retry_seconds, with_store_retries

        if self._run_root is None:
            return
        run_id = self._run_root.name
        doc = json.dumps([o.lineage() for o in self._outputs])
        deadline = time.monotonic() + store_retry_seconds()
        try:
            with_store_retries(
                lambda: self.workspace.store.set_tags(run_id, {T.OUTPUTS: doc}), "recording outputs", deadline, log
            )
        except Exception as exc:
            log(f"Warning: could not record the run's outputs in the tracking store: {exc}")


__all__ = ["DEFAULT_PATH", "OutputFileDatasetConfig", "OutputMaterializer"]
