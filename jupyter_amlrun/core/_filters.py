"""The v1 tag/property filter, shared by run and model listings."""

from __future__ import annotations

from typing import Any


def match_tags(have: dict[str, str], want: Any) -> bool:
    """Whether ``have`` passes a v1 filter.

    ``want`` may be None (everything passes), a key, a dict (a None value only asks for the key), or a list of keys
    and ``[key, value]`` pairs.
    """
    if want is None:
        return True
    if isinstance(want, dict):
        return all(k in have and (v is None or have[k] == str(v)) for k, v in want.items())
    if isinstance(want, str):
        return want in have
    for item in want:
        if isinstance(item, list | tuple):
            if have.get(item[0]) != str(item[1]):
                return False
        elif item not in have:
            return False
    return True
