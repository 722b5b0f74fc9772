"""No TypeScript file formats a number, a duration, a date or picks a colour: Python decides (view/model.py and the
server's answers carry every text and colour the front end shows), TypeScript draws (issue 20).

A source scan of labextension/src: number formatting (``toFixed``, ``toPrecision``, ``toExponential``,
``toLocaleString``, ``Intl.``), date and duration arithmetic (``toLocale*String``, ``getHours``..., ``padStart`` of a
clock, ``/ 3600``, ``% 60``) and colour literals (``#abc``/``#aabbcc``, ``rgb(``/``rgba(``/``hsl(``). Colours belong to
CSS (labextension/style, not scanned) or come with the view. What legitimately remains is listed in ALLOWED, each entry
with its reason; an entry that no longer matches fails too, so the list cannot go stale.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tswire import REPO

pytestmark = pytest.mark.unit

SRC = REPO / "labextension" / "src"

RULES: dict[str, re.Pattern[str]] = {
    "number formatting": re.compile(r"\.(toFixed|toPrecision|toExponential|toLocaleString)\s*\(|\bIntl\s*\."),
    "date formatting": re.compile(
        r"\.(toLocaleDateString|toLocaleTimeString|toDateString|toTimeString|toUTCString|getHours|getMinutes|"
        r"getSeconds|getFullYear)\s*\("
    ),
    "duration arithmetic": re.compile(r"[/%]\s*(60|3600|86400)\b|\bpadStart\s*\(\s*2\b"),
    "colour literal": re.compile(
        r"""['"`(:,\s]#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})(?![\w-])|\b(?:rgba?|hsla?)\s*\("""
    ),
}

# (file relative to labextension/src, rule, the matched text): how often it may occur, and why it may stay.
ALLOWED: dict[tuple[str, str, str], tuple[int, str]] = {
    # uPlot draws on a canvas, which reads no CSS: the one line of a run's own metric chart needs a colour in the
    # options. It is view/model.py SERIES_COLORS[0] (the static summary's first colour); compared runs and a sweep's
    # children get theirs from the view (CompareRun.color, SweepChildView.color).
    ("runview/render.ts", "colour literal", "'#1f77b4"): (1, "uPlot's single-series line (canvas: no CSS)"),
}


def findings(root: Path = SRC) -> dict[tuple[str, str, str], int]:
    """Every rule match in the ``.ts`` files under ``root``, counted by (file, rule, matched text); comments are
    skipped (a comment may name what it does not do)."""
    found: dict[tuple[str, str, str], int] = {}
    for path in sorted(root.rglob("*.ts")):
        rel = path.relative_to(root).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.strip()
            if code.startswith(("//", "/*", "*")):
                continue
            code = re.sub(r"\s//.*$", "", code)
            for rule, pattern in RULES.items():
                for m in pattern.finditer(code):
                    key = (rel, rule, m.group(0).strip())
                    found[key] = found.get(key, 0) + 1
    return found


def test_no_typescript_file_formats_numbers_durations_dates_or_colours() -> None:
    found = findings()
    bad = {key: n for key, n in found.items() if n > ALLOWED.get(key, (0, ""))[0]}
    assert not bad, (
        "TypeScript formats or picks a colour here; have Python send the text or colour (view/model.py, the server's "
        f"answers) and draw it as it is: {sorted(bad)}"
    )


def test_every_allowed_entry_still_matches() -> None:
    stale = set(ALLOWED) - set(findings())
    assert not stale, f"ALLOWED entries that match nothing any more (remove them): {sorted(stale)}"


@pytest.mark.parametrize(
    "source,rule",
    [
        ("const t = `${seconds.toFixed(1)}s`;", "number formatting"),
        ("return new Intl.NumberFormat().format(v);", "number formatting"),
        ("const when = date.toLocaleString();", "number formatting"),
        ("const m = Math.floor((seconds / 60) % 60);", "duration arithmetic"),
        ("const pad = (n: number) => String(n).padStart(2, '0');", "duration arithmetic"),
        ("const h = d.getHours();", "date formatting"),
        ("el.style.background = '#2e7d32';", "colour literal"),
        ("stroke: 'rgba(0, 0, 0, 0.5)',", "colour literal"),
    ],
)
def test_the_scan_finds_each_kind(tmp_path: Path, source: str, rule: str) -> None:
    (tmp_path / "x.ts").write_text(f"// a comment: toFixed(\n{source}\n", encoding="utf-8")
    assert {key[1] for key in findings(tmp_path)} == {rule}


def test_the_scan_leaves_ids_and_selectors_alone(tmp_path: Path) -> None:
    (tmp_path / "x.ts").write_text(
        "const url = `${base}#amlrun-run=${id}`;\nel.querySelector('#abc-panel');\nconst n = items.length / 2;\n",
        encoding="utf-8",
    )
    assert findings(tmp_path) == {}
