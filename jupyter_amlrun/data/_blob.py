"""The Azure Blob backend over azure-storage-blob (tested against Azurite, the Azure Storage emulator).

Transfers go straight through azure-storage-blob (a thread pool over one pooled HTTP session; large files also use
the SDK's parallel block transfer); :attr:`AzureBlobDatastore.fs` gives an adlfs filesystem for anything else.
SDK errors become one clear datastore error, secrets scrubbed, without the SDK's stack.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from jupyter_amlrun.data._secrets import REDACTED, SecretStore, env_var_name, scrub
from jupyter_amlrun.data.datastore import Datastore, FileEntry, transfer_workers
from jupyter_amlrun.data.errors import DatastoreAuthenticationError, DatastoreConnectionError, DatastoreException

_CONTAINER_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
RETRIES = 3  # bounded: connection errors fail after ~RETRIES seconds (linear 1 s backoff)
DEADLINE_ENV = "AMLRUN_DATASTORE_TIMEOUT"  # seconds an operation may take in all (connect, reads, retries)
DEADLINE_SECONDS = 120.0
MIN_RATE = 1024 * 1024  # bytes/s a transfer is allowed on top of the deadline (a big file is not a hung endpoint)
NOTICE_SECONDS = 10.0  # while an operation waits, a line says so this often
_R = TypeVar("_R")


def operation_deadline(size: int = 0) -> float:
    """The total time one datastore operation may take: ``AMLRUN_DATASTORE_TIMEOUT`` (default 120 s), plus
    ``size`` bytes at 1 MiB/s for a transfer."""
    try:
        base = float(os.environ.get(DEADLINE_ENV, ""))
    except ValueError:
        base = DEADLINE_SECONDS
    base = base if base > 0 else DEADLINE_SECONDS
    return base + size / MIN_RATE


BIG_FILE = 8 * 1024 * 1024  # above this one file is also split across the SDK's own parallel block transfer
FILE_CONCURRENCY = 4
DOWNLOAD_BLOCK = 4 * 1024 * 1024  # bytes per read of a response body


def check_container_name(name: Any) -> str:
    if not isinstance(name, str) or not _CONTAINER_RE.match(name):
        raise DatastoreException(
            f"Invalid container name {name!r}: Azure wants 3-63 lowercase letters, digits and single dashes, "
            "starting and ending with a letter or digit (e.g. 'training-data')."
        )
    return name


def parse_connection_string(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _forget(exc: BaseException, secrets: list[str | None]) -> None:
    """Empty an SDK error of what may hold a secret: ``raise ... from None`` hides it from the printed traceback, but
    it stays the new error's ``__context__``, with the request (its URL carries the SAS ``sig=``), the response and
    the frames that held both. Its first line, scrubbed, is kept."""
    text = str(exc)
    first = scrub(text.splitlines()[0] if text else type(exc).__name__, secrets)
    exc.args = (first,)
    for name in ("message", "reason"):
        if isinstance(getattr(exc, name, None), str):
            with contextlib.suppress(AttributeError):
                setattr(exc, name, first if name == "message" else scrub(getattr(exc, name), secrets))
    for name in ("response", "inner_exception", "exc_type", "exc_value", "exc_traceback", "exc_msg", "model", "error"):
        if name in vars(exc):
            vars(exc)[name] = None
    exc.__traceback__ = None
    exc.__context__ = exc.__cause__ = None


def _missing_sdk() -> DatastoreException:
    return DatastoreException("Azure Blob datastores need azure-storage-blob: pip install 'jupyter_amlrun[azure]'.")


class AzureBlobDatastore(Datastore):
    """An Azure Blob container (or Azurite's). v1 attributes: ``container_name``, ``account_name``, ``protocol``,
    ``endpoint``; ``account_key`` and ``sas_token`` read back redacted."""

    datastore_type = "AzureBlob"

    def _setup(self) -> None:
        self.container_name: str = self._doc["container_name"]
        self.account_name: str | None = self._doc.get("account_name")
        self.endpoint: str = self._doc.get("endpoint") or "core.windows.net"
        scheme = self.endpoint.split("://", 1)[0] if "://" in self.endpoint else None
        self.protocol: str = scheme or self._doc.get("protocol") or "https"
        self.credential_type: str = self._doc.get("credential_type", "anonymous")
        self._secrets: dict[str, str] = SecretStore(self.workspace.path).get(self.name)
        self._container_client: Any = None

    def _inject_secrets(self, secrets: dict[str, str]) -> None:
        self._secrets = dict(secrets)
        self._container_client = None

    # -- v1 attributes (redacted)
    @property
    def account_key(self) -> str | None:
        return REDACTED if self._secrets.get("account_key") else None

    @property
    def sas_token(self) -> str | None:
        return REDACTED if self._secrets.get("sas_token") else None

    @property
    def account_url(self) -> str:
        if self.endpoint.startswith(("http://", "https://")):
            return self.endpoint.rstrip("/")
        cs = self._secrets.get("connection_string")
        if cs:
            blob_endpoint = parse_connection_string(cs).get("BlobEndpoint")
            if blob_endpoint:
                return blob_endpoint.rstrip("/")
        return f"{self.protocol}://{self.account_name}.blob.{self.endpoint}"

    def _secret_values(self) -> list[str | None]:
        return list(self._secrets.values())

    def _public_fields(self) -> dict[str, Any]:
        return {
            "container_name": self.container_name,
            "account_name": self.account_name,
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "credential_type": self.credential_type,
            "credential": REDACTED if self._secrets else None,
        }

    # -- client
    def _container(self) -> Any:
        if self._container_client is not None:
            return self._container_client
        try:
            import requests
            from azure.core.pipeline.transport import RequestsTransport
            from azure.storage.blob import BlobServiceClient, LinearRetry
        except ImportError:
            raise _missing_sdk() from None
        # One pooled session sized for the transfer threads (the default pool of 10 drops connections beyond it).
        pool = transfer_workers() * FILE_CONCURRENCY
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        kwargs: dict[str, Any] = {
            "retry_policy": LinearRetry(backoff=1, retry_total=RETRIES, random_jitter_range=0),
            "connection_timeout": 10,
            "read_timeout": 120,
            # The SDK sets a bigger read block (256 KiB) only on the transport it builds itself; ours must ask, or
            # downloads iterate 4 KiB at a time (measured: 1.9x slower for a 200 MB blob). 4 MiB measured best.
            "transport": RequestsTransport(
                session=session, session_owner=False, connection_data_block_size=DOWNLOAD_BLOCK
            ),
            "max_block_size": 8 * 1024 * 1024,
            "max_single_put_size": BIG_FILE,
        }
        cs = self._secrets.get("connection_string")
        try:
            if cs:
                service = BlobServiceClient.from_connection_string(cs, **kwargs)
            else:
                credential: Any = None
                if self._secrets.get("account_key"):
                    credential = {"account_name": self.account_name, "account_key": self._secrets["account_key"]}
                elif self._secrets.get("sas_token"):
                    credential = self._secrets["sas_token"].lstrip("?")
                service = BlobServiceClient(self.account_url, credential=credential, **kwargs)
        except ValueError as exc:
            raise DatastoreException(
                f"Datastore {self.name!r}: the {self.credential_type} or endpoint is malformed "
                f"({scrub(str(exc), self._secret_values())}). Re-register it with overwrite=True."
            ) from None
        self._container_client = service.get_container_client(self.container_name)
        return self._container_client

    @contextlib.contextmanager
    def _mapped(self, doing: str) -> Iterator[None]:
        """Turn SDK errors into one clear datastore error (secrets scrubbed, no SDK stack)."""
        try:
            from azure.core.exceptions import (
                ClientAuthenticationError,
                HttpResponseError,
                ResourceNotFoundError,
                ServiceRequestError,
            )
        except ImportError:
            raise _missing_sdk() from None
        where = f"datastore {self.name!r} (account {self.account_name!r}, container {self.container_name!r})"
        try:
            yield
        except (ClientAuthenticationError, HttpResponseError) as exc:
            _forget(exc, self._secret_values())  # it stays reachable as the new error's __context__
            status = getattr(exc, "status_code", None)
            code = str(getattr(exc, "error_code", "") or "")
            code = code.split(".")[-1] if code.startswith("StorageErrorCode") else code
            first = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, self._secret_values())
            if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
                field = self.credential_type if self.credential_type != "anonymous" else "sas_token"
                hint = (
                    f"Check the {field.replace('_', ' ')}: re-register with "
                    "Datastore.register_azure_blob_container(..., overwrite=True), or set "
                    f"{env_var_name(self.name, field)}."
                )
                raise DatastoreAuthenticationError(
                    f"Azure Blob storage rejected the credentials of {where} while {doing} "
                    f"({status} {code or 'AuthenticationFailed'}). {hint}"
                ) from None
            if isinstance(exc, ResourceNotFoundError) and "ContainerNotFound" in (code or first):
                raise DatastoreException(
                    f"The container of {where} does not exist. Create it, or register the datastore with "
                    "create_if_not_exists=True."
                ) from None
            raise DatastoreException(f"Azure Blob error on {where} while {doing}: {status} {code}: {first}") from None
        except ServiceRequestError as exc:
            _forget(exc, self._secret_values())
            reason = scrub(str(exc).splitlines()[0], self._secret_values())
            raise DatastoreConnectionError(
                f"Could not reach the Azure Blob endpoint {self.account_url} of {where} while {doing}, after "
                f"{RETRIES} retries: {reason}. Check the endpoint and the network (for Azurite: is it running on "
                "that port?)."
            ) from None

    def _bounded(self, doing: str, fn: Callable[[], _R], size: int = 0) -> _R:
        """Run one network operation under a total deadline (:func:`operation_deadline`), saying on stderr (the
        driver log, in a run) every :data:`NOTICE_SECONDS` that it still waits. A hung endpoint (it accepts
        connections but never answers: the SDK would wait 120 s per read, per retry) fails with
        :class:`DatastoreConnectionError`; the abandoned call ends on its own read timeout."""
        limit = operation_deadline(size)
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # re-raised in the caller's thread, where _mapped words it
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name=f"datastore-{self.name}", daemon=True).start()
        start = time.monotonic()
        while not done.wait(max(0.0, min(NOTICE_SECONDS, start + limit - time.monotonic()))):
            waited = time.monotonic() - start
            if waited >= limit:
                raise DatastoreConnectionError(
                    f"The Azure Blob endpoint {self.account_url} of datastore {self.name!r} gave no answer in "
                    f"{limit:.0f} s while {doing} (it accepts connections but does not answer: is it hung or "
                    f"overloaded?). Set {DEADLINE_ENV} to wait longer."
                )
            print(
                f"jupyter_amlrun: datastore {self.name!r}: still {doing} after {waited:.0f} s (no answer from "
                f"{self.account_url}); giving up in {limit - waited:.0f} s.",
                file=sys.stderr,
                flush=True,
            )
        if "error" in box:
            raise box["error"]
        return box["value"]

    # -- contract
    def list_files(self, prefix: str) -> list[FileEntry]:
        out = []
        doing = f"listing {prefix or '/'!r}"

        def listing() -> None:
            for blob in self._container().list_blobs(name_starts_with=prefix or None):
                name = blob.name
                if prefix and name != prefix and not name.startswith(prefix.rstrip("/") + "/"):
                    continue  # 'data' must not match 'data-old/...'
                if name.endswith("/"):
                    continue  # folder marker blobs (hierarchical tools write them)
                out.append(FileEntry(name, int(blob.size), str(blob.etag).strip('"')))

        with self._mapped(doing):
            self._bounded(doing, listing)
        return out

    def stat(self, path: str) -> FileEntry | None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._mapped(f"reading {path!r}"):
            try:
                props = self._bounded(
                    f"reading {path!r}", lambda: self._container().get_blob_client(path).get_blob_properties()
                )
            except ResourceNotFoundError as exc:
                if "ContainerNotFound" in str(getattr(exc, "error_code", "")):
                    raise
                return None
        return FileEntry(path, int(props.size), str(props.etag).strip('"'))

    def list_dir(self, path: str) -> tuple[list[str], list[FileEntry]]:
        prefix = f"{path.rstrip('/')}/" if path else ""
        dirs: list[str] = []
        files: list[FileEntry] = []

        def walking() -> None:
            for item in self._container().walk_blobs(name_starts_with=prefix or None, delimiter="/"):
                name = item.name
                if name.endswith("/"):
                    dirs.append(name[len(prefix) :].rstrip("/"))
                else:
                    files.append(FileEntry(name, int(item.size), str(item.etag).strip('"')))

        with self._mapped(f"listing {path or '/'!r}"):
            self._bounded(f"listing {path or '/'!r}", walking)
        return dirs, files

    def put_file(self, local: Path, path: str) -> None:
        size = local.stat().st_size

        def upload() -> None:
            with open(local, "rb") as fh:
                self._container().upload_blob(
                    path, fh, overwrite=True, length=size, max_concurrency=FILE_CONCURRENCY if size > BIG_FILE else 1
                )

        with self._mapped(f"uploading {path!r}"):
            self._bounded(f"uploading {path!r}", upload, size)

    def get_file(self, path: str, local: Path) -> None:
        doing = f"downloading {path!r}"

        def save(downloader: Any) -> None:
            with open(local, "wb") as fh:
                downloader.readinto(fh)

        with self._mapped(doing):
            # the first answer gives the size; the rest of the transfer gets time for it
            down = self._bounded(
                doing, lambda: self._container().download_blob(path, max_concurrency=2 * FILE_CONCURRENCY)
            )
            self._bounded(doing, lambda: save(down), int(getattr(down, "size", 0) or 0))

    def remove(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._mapped(f"deleting {path!r}"), contextlib.suppress(ResourceNotFoundError):
            self._bounded(f"deleting {path!r}", lambda: self._container().delete_blob(path))

    def check_access(self, create: bool = False) -> None:
        from azure.core.exceptions import ResourceExistsError

        with self._mapped("checking access" if not create else "creating the container"):
            container = self._container()
            if create:
                with contextlib.suppress(ResourceExistsError):
                    container.create_container()
            else:
                # Listing needs only the 'list' permission, so a read-only SAS validates too.
                next(iter(container.list_blobs(results_per_page=1).by_page()), None)

    # -- fsspec view
    @property
    def fs(self) -> Any:
        """An adlfs ``AzureBlobFileSystem`` with this datastore's credentials."""
        try:
            from adlfs import AzureBlobFileSystem
        except ImportError:
            raise _missing_sdk() from None
        cs = self._secrets.get("connection_string")
        if not cs:
            parts = [f"BlobEndpoint={self.account_url}", f"AccountName={self.account_name}"]
            if self._secrets.get("account_key"):
                parts.append(f"AccountKey={self._secrets['account_key']}")
            elif self._secrets.get("sas_token"):
                parts.append(f"SharedAccessSignature={self._secrets['sas_token'].lstrip('?')}")
            cs = ";".join(parts)
        return AzureBlobFileSystem(connection_string=cs, skip_instance_cache=True)

    @property
    def fs_root(self) -> str:
        return self.container_name


__all__ = ["AzureBlobDatastore", "check_container_name"]
