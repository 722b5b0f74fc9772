"""Pure parsing of the magic line: the `--` split, --input specs, {name} placeholders, tags."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_amlrun.notebook.magics import expand_placeholders, parse_input, parse_tags, split_line

pytestmark = pytest.mark.unit


def test_split_line_at_first_double_dash() -> None:
    assert split_line("--experiment e -- --lr 0.1 -- x") == (["--experiment", "e"], ["--lr", "0.1", "--", "x"])
    assert split_line("--experiment e") == (["--experiment", "e"], None)
    assert split_line("-- 'a b' \"c\"") == ([], ["a b", "c"])


def test_split_line_bad_quotes() -> None:
    with pytest.raises(UsageError, match="quotes"):
        split_line("--experiment 'e")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("mnist=mnist_ds", ("mnist", "mnist_ds", None, "mount")),
        ("mnist=mnist_ds:download", ("mnist", "mnist_ds", None, "download")),
        ("mnist=mnist_ds:mount", ("mnist", "mnist_ds", None, "mount")),
        ("m=ds:3", ("m", "ds", "3", "mount")),
        ("m=ds:3:download", ("m", "ds", "3", "download")),
        ("m=ds:latest:download", ("m", "ds", None, "download")),
        ("_x1=ds", ("_x1", "ds", None, "mount")),
    ],
)
def test_parse_input(spec: str, expected: tuple[str, str, str | None, str]) -> None:
    assert parse_input(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mnist", "expected NAME=DATASET"),
        ("1x=ds", 'Invalid input name "1x"'),
        ("my-input=ds", 'Invalid input name "my-input"'),
        ("x=ds:copy", "unknown mode 'copy'"),
        ("x=", "dataset name is missing"),
    ],
)
def test_parse_input_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_input(spec)


def test_placeholders_expand_to_inputs() -> None:
    cfg = object()
    out = expand_placeholders(["--data-folder", "{mnist}", "--reg", "0.5", "{{literal}}"], {"mnist": cfg})
    assert out == ["--data-folder", cfg, "--reg", "0.5", "{literal}"]


def test_placeholder_that_names_no_input() -> None:
    with pytest.raises(UsageError, match=r"Placeholder \{data\} after -- names no input \(inputs: mnist\)"):
        expand_placeholders(["{data}"], {"mnist": object()})
    with pytest.raises(UsageError, match=r"inputs: none"):
        expand_placeholders(["--x", "{}"], {})


def test_placeholder_must_be_whole_argument() -> None:
    with pytest.raises(UsageError, match="must be a whole argument"):
        expand_placeholders(["--data={mnist}"], {"mnist": object()})


def test_parse_tags() -> None:
    assert parse_tags(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_tags(["novalue"])
