"""Contract suites for backends (the fsspec pattern): a compute or datastore kind, in this repository or another
distribution, subclasses the suite in its own tests and so proves it keeps the contract of
:mod:`jupyter_amlrun.core.contracts`. Needs pytest (not a dependency of the package).

Example
-------
::

    from jupyter_amlrun.testing import DatastoreContract

    class TestMyStore(DatastoreContract):
        @pytest.fixture
        def store(self, ws):
            return Datastore.get(ws, "mine")
"""

from __future__ import annotations

from jupyter_amlrun.testing.compute_contract import ComputeBackendContract
from jupyter_amlrun.testing.datastore_contract import DatastoreContract
from jupyter_amlrun.testing.helpers import sample_tree, wait_for, write_tree

__all__ = ["ComputeBackendContract", "DatastoreContract", "sample_tree", "wait_for", "write_tree"]
