"""v1 compute kinds with no local meaning: importable, and any use raises NotSupportedLocallyError with what to use.

Each is a subclass of :class:`ComputeTarget` (so ``isinstance`` checks in ported code still read right).
"""

from __future__ import annotations

from jupyter_amlrun.core.computetarget import ComputeTarget
from jupyter_amlrun.runtime.errors import refused_class

_MODULE = "jupyter_amlrun.core.compute"
_POOL = (
    "Create a local pool: ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=N)), or "
    "attach a Ray cluster with RayCompute.attach_configuration(address)."
)
_ATTACH = (
    "Run on this machine with an AmlCompute pool, or attach a Ray cluster: RayCompute.attach_configuration(address)."
)

# v1 name -> what to use instead (written once; docs/v1-surface.md lists them from this table)
KINDS: dict[str, str] = {
    "AksCompute": "Deployment is not provided; serve a model with `mlflow models serve`. For training: " + _POOL,
    "KubernetesCompute": _ATTACH,
    "AdlaCompute": "Data Lake Analytics is Azure-only; process data in the run with pandas/Spark on a pool. " + _POOL,
    "BatchCompute": _POOL,
    "DataFactoryCompute": "Data Factory is Azure-only; copy data with a Datastore (upload/download) in a run.",
    "DatabricksCompute": "Databricks is Azure-only; run Spark code locally (pyspark) on "
    + _ATTACH[0].lower()
    + _ATTACH[1:],
    "DsvmCompute": _POOL,
    "HDInsightCompute": "HDInsight is Azure-only; run Spark locally (pyspark) on an AmlCompute pool.",
    "KustoCompute": "Kusto is Azure-only; read the data into a TabularDataset instead.",
    "RemoteCompute": _ATTACH,
    "SynapseCompute": "Synapse is Azure-only; run Spark locally (pyspark) on an AmlCompute pool.",
}

AksCompute = refused_class("AksCompute", KINDS["AksCompute"], _MODULE, ComputeTarget)
KubernetesCompute = refused_class("KubernetesCompute", KINDS["KubernetesCompute"], _MODULE, ComputeTarget)
AdlaCompute = refused_class("AdlaCompute", KINDS["AdlaCompute"], _MODULE, ComputeTarget)
BatchCompute = refused_class("BatchCompute", KINDS["BatchCompute"], _MODULE, ComputeTarget)
DataFactoryCompute = refused_class("DataFactoryCompute", KINDS["DataFactoryCompute"], _MODULE, ComputeTarget)
DatabricksCompute = refused_class("DatabricksCompute", KINDS["DatabricksCompute"], _MODULE, ComputeTarget)
DsvmCompute = refused_class("DsvmCompute", KINDS["DsvmCompute"], _MODULE, ComputeTarget)
HDInsightCompute = refused_class("HDInsightCompute", KINDS["HDInsightCompute"], _MODULE, ComputeTarget)
KustoCompute = refused_class("KustoCompute", KINDS["KustoCompute"], _MODULE, ComputeTarget)
RemoteCompute = refused_class("RemoteCompute", KINDS["RemoteCompute"], _MODULE, ComputeTarget)
SynapseCompute = refused_class("SynapseCompute", KINDS["SynapseCompute"], _MODULE, ComputeTarget)
