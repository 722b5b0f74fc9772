"""v1's ``azureml.telemetry`` import path: accepted switches; jupyter_amlrun sends nothing anywhere."""

from jupyter_amlrun.core.diagnostics import (
    add_diagnostics_properties,
    get_diagnostics_collection_info,
    get_diagnostics_properties,
    get_event_logger,
    get_telemetry_log_handler,
    is_diagnostics_collection_info_available,
    set_diagnostics_collection,
    set_diagnostics_properties,
)
from jupyter_amlrun.core.errors import UserErrorException

__all__ = [
    "UserErrorException",
    "add_diagnostics_properties",
    "get_diagnostics_collection_info",
    "get_diagnostics_properties",
    "get_event_logger",
    "get_telemetry_log_handler",
    "is_diagnostics_collection_info_available",
    "set_diagnostics_collection",
    "set_diagnostics_properties",
]
