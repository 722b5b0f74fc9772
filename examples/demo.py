"""`make demo`: submit a real run on the embedded default workspace, wait, print its metrics and the registered model.

Mirrors the Azure ML SDK v1 quickstart: only the imports differ.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.errors import ComputeTargetException

HERE = Path(__file__).resolve().parent


def main() -> None:
    ws = Workspace.from_config()
    print(f"Workspace {ws.name!r} at {ws.path}")
    try:
        cluster = ComputeTarget(ws, "cpu-cluster")
    except ComputeTargetException:
        cluster = ComputeTarget.create(
            ws, "cpu-cluster", AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
        )
    cluster.wait_for_completion(show_output=True)
    print(cluster.get_status().serialize())

    exp = Experiment(workspace=ws, name="digits-demo")
    config = ScriptRunConfig(
        source_directory=str(HERE / "sklearn-digits"),
        script="train.py",
        arguments=["--regularization", 0.5],
        compute_target=cluster,
    )
    run = exp.submit(config)
    run.wait_for_completion(show_output=True)

    metrics = run.get_metrics()
    print("Metrics:")
    for name, value in metrics.items():
        shown = value[-1] if isinstance(value, list) else value
        print(f"  {name}: {shown}" + (f"  (last of {len(value)})" if isinstance(value, list) else ""))
    print("Files:", run.get_file_names())
    model = run.register_model(
        model_name="digits-classifier",
        model_path="outputs/model.pkl",
        tags={"data": "sklearn-digits"},
        properties={"accuracy": metrics["accuracy"][-1]},
    )
    print(f"Registered model {model.id} (from run {model.run_id})")
    print(f"Browse everything with: mlflow ui --backend-store-uri {ws.get_mlflow_tracking_uri()}")


if __name__ == "__main__":
    main()
