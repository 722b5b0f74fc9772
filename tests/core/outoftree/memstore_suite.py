"""Run in a subprocess by tests/core/test_registry.py with this folder on sys.path: the out-of-tree kind, found by
its entry point only, passes the package's datastore contract suite."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun.core import catalog
from jupyter_amlrun.data import Datastore
from jupyter_amlrun.testing import DatastoreContract


class TestMemoryDatastore(DatastoreContract):
    @pytest.fixture
    def store(self, ws: Any) -> Any:
        folder = catalog.folder(ws) / "mem"
        folder.mkdir(parents=True)
        (folder / catalog.DOC_NAME).write_text('{"name": "mem", "datastore_type": "Memory"}')
        store = Datastore.get(ws, "mem")
        assert type(store).__name__ == "MemoryDatastore"
        return store
