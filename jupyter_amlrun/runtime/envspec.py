"""The rules an environment's spec must pass, written once: pip requirements, conda specs, environment names, and
requirements files with their ``-r`` includes. The Environment classes (core) and the builder use them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = ["check_conda_spec", "check_environment_name", "check_pip_requirement", "requirement_lines"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][\w.\-]{0,254}$", re.ASCII)
_VERSION_RE = r"[\w.*+!\-]+"
# name, an optional version constraint (conda's = and pip-style operators, comma-joined), an optional =build.
_CONDA_SPEC_RE = re.compile(
    rf"^([\w.\-]+::)?[A-Za-z0-9_][\w.\-]*(\s*([=<>!~]=?)\s*{_VERSION_RE}(,\s*[<>=!~]=?\s*{_VERSION_RE})*)?(={_VERSION_RE})?$",
    re.ASCII,
)


def check_pip_requirement(text: str) -> str:
    """A pip requirement (``name``, ``name==1.2``, ``name[extra]>=1; marker``, ``name @ url``, a URL or a path).

    Raises
    ------
    UserErrorException
        The string is not a requirement pip can read.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(text, str) or not text.strip():
        raise UserErrorException(f"A pip package must be a non-empty string, got {text!r}.")
    text = text.strip()
    if "://" in text or text.startswith((".", "/", "~")):
        return text  # a direct URL or a local path: pip reads it as it is
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        raise UserErrorException(
            f"Invalid pip requirement {text!r}: {str(exc).splitlines()[0]}. Write it as pip does: 'name', 'name==1.2', "
            "'name>=1,<2' or 'name[extra]'; put options such as --index-url in set_pip_option()."
        ) from None
    return text


def check_conda_spec(text: str) -> str:
    """A conda package spec (``numpy``, ``numpy=1.26``, ``conda-forge::numpy>=1.2``)."""
    if not isinstance(text, str) or not _CONDA_SPEC_RE.match(text.strip()):
        raise UserErrorException(
            f"Invalid conda package {text!r}: write it as 'name', 'name=1.2', 'name>=1.2' or 'channel::name'."
        )
    return text.strip()


def check_environment_name(name: Any) -> str:
    """An environment name that is also a safe folder name inside the workspace."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in (".", ".."):
        raise UserErrorException(
            f"Invalid environment name {name!r}: use letters, digits, '.', '-' and '_', starting with a letter "
            "or digit (at most 255 characters)."
        )
    return name


def requirement_lines(path: Path, seen: set[Path]) -> list[str]:
    """The lines of a requirements file, with ``-r``/``--requirement`` includes expanded (relative to the file)."""
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(-r|--requirement)[\s=]+(.+)$", line)
        if m:
            inc = (path.parent / m.group(2).strip()).resolve()
            if not inc.is_file():
                raise UserErrorException(f"{path}: the included requirements file {inc} does not exist.")
            out += requirement_lines(inc, seen)
        else:
            out.append(line)
    return out
