"""Model: versions in MLflow's model registry (v1 API)."""

from __future__ import annotations

import builtins
import datetime as _dt
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import ModelNotFoundException, UserErrorException, refuse_members, refused_class
from jupyter_amlrun.tracking.store import file_uri_to_path

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.tracking.store import ModelVersionRecord

PROP_PREFIX = T.PROP_PREFIX
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$")


def validate_model_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise UserErrorException(
            f"Invalid model name {name!r}: use 1-255 letters, digits, '-', '_' or '.', starting with a letter or digit."
        )
    return name


_SERVE = "Serve the model locally: `mlflow models serve -m <model.download() folder>`, or load it in your own app."


@refuse_members(
    methods={
        "deploy": _SERVE,
        "package": _SERVE,
        "profile": "Profile the model yourself by calling it in a run; deployment sizing is Azure-only.",
        "get_sas_urls": "Models are local files: model.download(target_dir) copies them; Model.get_model_path() finds "
        "them.",
    }
)
class Model:
    """A registered model version.

    ``Model(ws, name)`` opens the latest version; ``version=`` or ``id="name:version"`` a given one; ``tags=``,
    ``properties=`` and ``run_id=`` filter.
    """

    class Framework:
        CUSTOM = "Custom"
        TENSORFLOW = "TensorFlow"
        SCIKITLEARN = "ScikitLearn"
        ONNX = "Onnx"
        PYTORCH = "PyTorch"
        MULTI = "Multi"

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.workspace = workspace
        record = kwargs.get("_record")
        if record is None:
            if id is not None:
                if ":" not in id:
                    raise UserErrorException(f"Model id {id!r} must look like 'name:version'.")
                name, _, v = id.rpartition(":")
                version = int(v)
            if name is None:
                raise UserErrorException("Model needs a name or an id ('name:version').")
            record = _find(workspace, name, version, tags, properties, run_id)
        self._set(record)

    def _set(self, r: ModelVersionRecord) -> None:
        self._r = r
        self.name = r.name
        self.version = r.version
        self.id = f"{r.name}:{r.version}"
        self.description = r.description
        self.tags = T.user_tags(r.tags)
        self.properties = T.properties(r.tags)
        self.run_id = r.run_id
        self.experiment_name = r.tags.get(T.MODEL_EXPERIMENT)
        self.model_framework = r.tags.get(T.MODEL_FRAMEWORK, Model.Framework.CUSTOM)
        self.model_framework_version = r.tags.get(T.MODEL_FRAMEWORK_VERSION)
        self.created_time = _dt.datetime.fromtimestamp(r.creation_time / 1000, tz=_dt.timezone.utc)
        self.url = r.source

    # ------------------------------------------------------------------ registration
    @staticmethod
    def _create_version(
        workspace: Workspace,
        name: str,
        source: str,
        *,
        run_id: str | None,
        tags: dict[str, Any] | None,
        properties: dict[str, Any] | None,
        description: str | None,
        framework: str | None,
        framework_version: str | None,
        experiment_name: str | None = None,
    ) -> Model:
        if tags is not None and not isinstance(tags, dict):
            raise UserErrorException("tags must be a dict of str -> str.")
        if properties is not None and not isinstance(properties, dict):
            raise UserErrorException("properties must be a dict of str -> str.")
        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        for k in all_tags:
            if T.is_system(k):
                raise UserErrorException(f"Tag name {k!r} is reserved.")
        all_tags.update({PROP_PREFIX + str(k): str(v) for k, v in (properties or {}).items()})
        if framework:
            all_tags[T.MODEL_FRAMEWORK] = framework
        if framework_version:
            all_tags[T.MODEL_FRAMEWORK_VERSION] = framework_version
        if experiment_name:
            all_tags[T.MODEL_EXPERIMENT] = experiment_name
        record = workspace.store.create_model_version(name, source, run_id, all_tags, description)
        return Model(workspace, _record=record)

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str,
        model_name: str,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: Any = None,
        **kwargs: Any,
    ) -> Model:
        """Register a local file or folder as a new version of ``model_name``."""
        validate_model_name(model_name)
        src = Path(model_path).expanduser()
        if not src.exists():
            raise UserErrorException(f"model_path {str(src)!r} does not exist; pass a local file or folder.")
        print(f"Registering model {model_name}")
        dest_root = workspace.path / "model_store" / model_name / uuid.uuid4().hex
        dest_root.mkdir(parents=True)
        dest = dest_root / src.name
        try:
            if src.is_dir():
                shutil.copytree(src, dest)
            else:
                shutil.copy2(src, dest)
            return Model._create_version(
                workspace,
                model_name,
                dest.as_uri(),
                run_id=None,
                tags=tags,
                properties=properties,
                description=description,
                framework=model_framework,
                framework_version=model_framework_version,
            )
        except BaseException:
            shutil.rmtree(dest_root, ignore_errors=True)
            raise

    # ------------------------------------------------------------------ queries
    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        **kwargs: Any,
    ) -> builtins.list[Model]:
        """Registered model versions, newest version first per name; ``latest=True`` keeps one per name."""
        records = workspace.store.search_model_versions(name)
        out = [r for r in records if _matches(r, tags, properties, run_id)]
        out.sort(key=lambda r: (r.name, -r.version))
        if latest:
            seen: set[str] = set()
            out = [r for r in out if not (r.name in seen or seen.add(r.name))]  # type: ignore[func-returns-value]
        return [Model(workspace, _record=r) for r in out]

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: Workspace | None = None) -> str:
        if _workspace is None:
            raise UserErrorException("get_model_path needs _workspace outside a deployment.")
        return Model(_workspace, model_name, version=version).download(
            tempfile.mkdtemp(prefix="amlrun-model-"), exist_ok=True
        )

    # ------------------------------------------------------------------ actions
    def download(self, target_dir: str = ".", exist_ok: bool = False, exists_ok: bool | None = None) -> str:
        """Download the model's file or folder into ``target_dir``; returns its local path."""
        if exists_ok is not None:
            exist_ok = exists_ok
        target = Path(target_dir).expanduser()
        name = self.url.rstrip("/").rsplit("/", 1)[-1]
        final = target / name
        if final.exists() and not exist_ok:
            raise UserErrorException(f"{final} already exists; pass exist_ok=True to overwrite it.")
        target.mkdir(parents=True, exist_ok=True)
        local = file_uri_to_path(self.url)
        if local is not None and local.exists():
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            if local.is_dir():
                shutil.copytree(local, final)
            else:
                shutil.copy2(local, final)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                got = self.workspace.store.download_uri(self.url, Path(tmp))
                if final.exists():
                    shutil.rmtree(final) if final.is_dir() else final.unlink()
                shutil.move(str(got), final)
        return str(final)

    def add_tags(self, tags: dict[str, Any]) -> None:
        for k, v in tags.items():
            self.workspace.store.set_model_version_tag(self.name, self.version, str(k), str(v))
        self._reload()

    def add_properties(self, properties: dict[str, Any]) -> None:
        for k, v in properties.items():
            if k in self.properties and self.properties[k] != str(v):
                raise UserErrorException(f"Property {k!r} is already {self.properties[k]!r}; properties are immutable.")
            self.workspace.store.set_model_version_tag(self.name, self.version, PROP_PREFIX + str(k), str(v))
        self._reload()

    def update(self, tags: dict[str, Any] | None = None, description: str | None = None, **kwargs: Any) -> None:
        if description is not None:
            self.workspace.store.update_model_version(self.name, self.version, description)
        if tags:
            self.add_tags(tags)
        self._reload()

    def delete(self) -> None:
        self.workspace.store.delete_model_version(self.name, self.version)

    def remove_tags(self, tags: builtins.list[str]) -> None:
        """Remove tags by name (a name that is not set is ignored, as in v1)."""
        for key in tags:
            if key in self.tags:
                self.workspace.store.client.delete_model_version_tag(self.name, str(self.version), str(key))
        self._reload()

    def update_tags_properties(
        self,
        add_tags: dict[str, Any] | None = None,
        remove_tags: builtins.list[str] | None = None,
        add_properties: dict[str, Any] | None = None,
    ) -> None:
        """Add and remove tags and add properties in one call (properties are immutable, as in v1)."""
        if add_tags:
            self.add_tags(add_tags)
        if remove_tags:
            self.remove_tags(remove_tags)
        if add_properties:
            self.add_properties(add_properties)

    def add_dataset_references(self, datasets: builtins.list[tuple[str, Any]]) -> None:
        """Record the datasets the model was trained or validated with: ``[(purpose, dataset), ...]`` becomes the
        property ``dataset:<purpose>`` = the dataset's name (or id)."""
        props = {}
        for item in datasets:
            if not isinstance(item, tuple) or len(item) != 2:
                raise UserErrorException("add_dataset_references takes [(purpose, dataset), ...].")
            purpose, dataset = item
            props[f"dataset:{purpose}"] = str(getattr(dataset, "name", None) or getattr(dataset, "id", None) or dataset)
        self.add_properties(props)

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: dict[str, Any]) -> Model:
        """The model a :meth:`serialize` dict names (read again from the workspace)."""
        name, version = model_payload.get("name"), model_payload.get("version")
        if not isinstance(name, str):
            raise UserErrorException("deserialize needs a dict from Model.serialize() (with 'name' and 'version').")
        return Model(workspace, name=name, version=version)

    def print_configuration(self) -> None:
        """Print the model's fields (name, version, tags, properties, run, url)."""
        for key, value in self.serialize().items():
            print(f"{key}: {value}")

    def _reload(self) -> None:
        r = self.workspace.store.get_model_version(self.name, self.version)
        if r is not None:
            self._set(r)

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "runId": self.run_id,
            "experimentName": self.experiment_name,
            "createdTime": self.created_time.isoformat(),
            "url": self.url,
            "framework": self.model_framework,
        }

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, version={self.version}, "
            f"tags={self.tags}, properties={self.properties})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.id == self.id and other.workspace == self.workspace

    def __hash__(self) -> int:
        return hash(self.id)


def _matches(r: ModelVersionRecord, tags: Any, properties: Any, run_id: str | None) -> bool:
    if run_id is not None and r.run_id != run_id:
        return False
    return T.match_tags(T.user_tags(r.tags), tags) and T.match_tags(T.properties(r.tags), properties)


def _find(
    workspace: Workspace, name: str, version: int | None, tags: Any, properties: Any, run_id: str | None
) -> ModelVersionRecord:
    records = [r for r in workspace.store.search_model_versions(name) if _matches(r, tags, properties, run_id)]
    if version is not None:
        records = [r for r in records if r.version == int(version)]
    if not records:
        names = sorted({r.name for r in workspace.store.search_model_versions()})
        what = f"version {version} of model {name!r}" if version is not None else f"model {name!r}"
        raise ModelNotFoundException(
            f"No {what} matches in workspace {workspace.name!r}. Registered models: {names or 'none'}. Register one "
            "with run.register_model(...) or Model.register(ws, path, name)."
        )
    return max(records, key=lambda r: r.version)


#: v1 deployment classes (azureml.core.model): importable; any use says what to do instead.
InferenceConfig = refused_class("InferenceConfig", _SERVE, __name__)
ModelPackage = refused_class("ModelPackage", _SERVE, __name__)


def __getattr__(name: str) -> Any:
    """v1's ``azureml.core.model`` also exports ``Dataset`` (for ``sample_input_dataset=``); it lives in the data
    layer, above the core, so it is forwarded lazily for ported imports and never used by the core itself."""
    if name == "Dataset":
        import importlib

        return importlib.import_module("jupyter_amlrun.data.dataset").Dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
