"""v1 dataset calls from tutorials (issue 12): DataReferences in from_files, and Dataset.Tabular."""

from __future__ import annotations

from pathlib import Path

import pytest

IRIS = "sepal_length,species\n5.1,setosa\n4.9,setosa\n6.3,virginica\n"


@pytest.fixture
def iris_store(ws, tmp_path: Path):  # type: ignore[no-untyped-def]
    src = tmp_path / "up" / "x"
    src.mkdir(parents=True)
    (src / "iris.csv").write_text(IRIS)
    (src / "more.csv").write_text("sepal_length,species\n7.0,versicolor\n")
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "up"), target_path="", show_progress=False)
    return store


@pytest.mark.unit
def test_from_files_accepts_data_references_lists_and_tuples(iris_store) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun import Dataset

    one = Dataset.File.from_files(iris_store.path("x/iris.csv"))
    assert one.to_path() == ["/iris.csv"]
    both = Dataset.File.from_files([iris_store.path("x/iris.csv"), iris_store.path("x/more.csv")])
    assert sorted(both.to_path()) == ["/iris.csv", "/more.csv"]
    mixed = Dataset.File.from_files([(iris_store, "x/iris.csv"), iris_store.path("x/more.csv")])
    assert sorted(mixed.to_path()) == ["/iris.csv", "/more.csv"]


@pytest.mark.unit
def test_tabular_from_delimited_files_to_pandas(iris_store) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun import Dataset

    table = Dataset.Tabular.from_delimited_files(path=iris_store.path("x/iris.csv"))
    df = table.to_pandas_dataframe()
    assert list(df.columns) == ["sepal_length", "species"] and len(df) == 3
    assert df["sepal_length"].tolist() == [5.1, 4.9, 6.3]
    assert table.take(2).to_pandas_dataframe()["species"].tolist() == ["setosa", "setosa"]
    assert list(table.drop_columns("species").to_pandas_dataframe().columns) == ["sepal_length"]
    glob = Dataset.Tabular.from_delimited_files(path=[(iris_store, "x/*.csv")], include_path=True)
    assert len(glob.to_pandas_dataframe()) == 4 and "Path" in glob.to_pandas_dataframe().columns
    assert "TabularDataset" in repr(table)


@pytest.mark.unit
def test_tabular_refuses_what_it_cannot_do_with_a_way_out(iris_store) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun import Dataset
    from jupyter_amlrun.data import DatasetException

    table = Dataset.Tabular.from_delimited_files((iris_store, "x/iris.csv"))
    with pytest.raises(DatasetException, match="direct mode only"):
        table.as_named_input("iris").as_mount()
    with pytest.raises(DatasetException, match="direct mode only"):
        table.as_named_input("iris").as_download()
    with pytest.raises(DatasetException, match="from_delimited_files"):
        Dataset.Tabular.from_sql_query("select 1")
