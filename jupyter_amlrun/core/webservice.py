"""v1's ``azureml.core.webservice`` (deployment, out of scope): importable, and any use says what to do instead."""

from jupyter_amlrun.runtime.errors import refused_class

_SERVE = (
    "Deployment is not provided: serve a registered model locally, e.g. `mlflow models serve -m "
    "<model.download() folder>`, or load it in your own web app."
)

Webservice = refused_class("Webservice", _SERVE, __name__)
AciWebservice = refused_class("AciWebservice", _SERVE, __name__)
AksWebservice = refused_class("AksWebservice", _SERVE, __name__)
LocalWebservice = refused_class("LocalWebservice", _SERVE, __name__)

__all__ = ["AciWebservice", "AksWebservice", "LocalWebservice", "Webservice"]
