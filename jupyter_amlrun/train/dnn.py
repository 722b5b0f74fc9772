"""v1's ``azureml.train.dnn`` import path (framework estimators; deprecated in v1 too: use ScriptRunConfig)."""

from jupyter_amlrun.train.estimator import Chainer, Gloo, Mpi, Nccl, ParameterServer, PyTorch, TensorFlow

__all__ = ["Chainer", "Gloo", "Mpi", "Nccl", "ParameterServer", "PyTorch", "TensorFlow"]
