"""Read the property names of TypeScript object types, to check the front end's wire types against the Python
TypedDicts (tests/notebook/test_protocol.py for the comm, tests/server/test_wire_types.py for REST)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIRE_TS = REPO / "labextension" / "src" / "runview" / "wire.ts"
API_TS = REPO / "labextension" / "src" / "api.ts"

_DECL = re.compile(
    r"^export (?:type (?P<t>\w+) = \{|interface (?P<i>\w+)(?:<[^>]*>)?(?: extends (?P<base>[\w<>, ]+))? \{)$"
    r"(?P<body>.*?)^\};?$",
    flags=re.S | re.M,
)
_PROP = re.compile(r"^  (\w+)\??:", flags=re.M)


def ts_types(source: str) -> dict[str, set[str]]:
    """``export type Name = {...}`` and ``export interface IName {...}`` of a prettier-formatted TS file: each
    name and its property names (an interface's ``extends`` adds its base's, when the base is in the same file)."""
    found: dict[str, tuple[set[str], str]] = {}
    for m in _DECL.finditer(source):
        name = m.group("t") or m.group("i")
        found[name] = (set(_PROP.findall(m.group("body"))), (m.group("base") or "").split("<")[0].strip())
    out: dict[str, set[str]] = {}
    for name, (props, base) in found.items():
        while base in found:
            props = props | found[base][0]
            base = found[base][1]
        out[name] = props
    return out
