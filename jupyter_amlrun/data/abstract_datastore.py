"""v1's ``azureml.data.abstract_datastore``: the base of every datastore is :class:`Datastore` here."""

from jupyter_amlrun.data.datastore import Datastore

AbstractDatastore = Datastore

__all__ = ["AbstractDatastore"]
