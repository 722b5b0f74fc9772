"""A TabularDataset as a run input (issue 21): v1's direct mode, ``input_datasets[name]`` is a TabularDataset in the
script, and the argument carries the dataset's id for ``Dataset.get_by_id``. Real runs on the local target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Dataset, Experiment, ScriptRunConfig

pytestmark = pytest.mark.integration

IRIS = "sepal_length,species\n5.1,setosa\n4.9,setosa\n6.3,virginica\n"

SCRIPT = """
import argparse, json
from jupyter_amlrun import Dataset, Run

parser = argparse.ArgumentParser()
parser.add_argument("--input-data")
args = parser.parse_args()
run = Run.get_context()
table = run.input_datasets["iris"]
df = table.to_pandas_dataframe()
again = Dataset.get_by_id(run.experiment.workspace, id=args.input_data).to_pandas_dataframe()
seen = {
    "type": type(table).__name__,
    "rows": len(df),
    "columns": list(df.columns),
    "species": df["species"].tolist(),
    "arg": args.input_data,
    "same": again.equals(df),
}
print("SEEN " + json.dumps(seen))
"""


@pytest.fixture
def iris_store(ws: Any, tmp_path: Path) -> Any:
    up = tmp_path / "up" / "iris"
    up.mkdir(parents=True)
    (up / "iris.csv").write_text(IRIS)
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "up"), target_path="", show_progress=False)
    return store


def run_script(ws: Any, make_source: Any, arguments: list[Any]) -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    src = make_source({"train.py": SCRIPT})
    run = Experiment(ws, "tabular-input").submit(
        ScriptRunConfig(source_directory=str(src), script="train.py", arguments=arguments)
    )
    details = run.wait_for_completion(raise_on_error=False)
    user = run.get_log_files().get("logs/user_logs/std_log.txt")
    text = user.read_text() if user else ""
    seen = next((json.loads(line[5:]) for line in text.splitlines() if line.startswith("SEEN ")), None)
    return run, details, seen


def test_a_tabular_input_reaches_the_script_as_a_tabular_dataset(ws: Any, make_source: Any, iris_store: Any) -> None:
    table = Dataset.Tabular.from_delimited_files(path=(iris_store, "iris/iris.csv")).drop_columns("sepal_length")
    config = table.as_named_input("iris")
    assert config.mode == "direct" and str(config) == "DatasetConsumptionConfig:iris"
    run, details, seen = run_script(ws, make_source, ["--input-data", config])
    driver = run.get_log_files()["logs/azureml/driver_log.txt"].read_text()
    assert details["status"] == "Completed", driver
    assert seen is not None
    assert seen["type"] == "TabularDataset" and seen["rows"] == 3 and seen["columns"] == ["species"]
    assert seen["species"] == ["setosa", "setosa", "virginica"]  # the table's own steps (drop_columns) kept
    assert seen["arg"].startswith("tabular-") and seen["same"] is True  # the id, as v1 passes a tabular input
    assert "Processing 'iris': an unregistered tabular dataset, direct mode" in driver


def test_a_tabular_input_whose_file_is_gone_fails_at_start(ws: Any, make_source: Any, iris_store: Any) -> None:
    table = Dataset.Tabular.from_delimited_files(path=(iris_store, "iris/iris.csv"))
    (Path(iris_store.local_root()) / "iris" / "iris.csv").unlink()
    _run, details, seen = run_script(ws, make_source, ["--input-data", table.as_named_input("iris")])
    assert details["status"] == "Failed" and seen is None
    message = details["error"]["error"]["message"]
    assert "input 'iris'" in message and "iris/iris.csv" in message
