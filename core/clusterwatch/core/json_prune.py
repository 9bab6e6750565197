"""Decode a big JSON object keeping only what is read of its long arrays.

A Mesos master's ``/master/state-summary`` is 14 MB at 10,000 agents, ~4 KB of decoded
objects per agent (attributes, offered and reserved resources...) of which a collector reads
six keys: decoded whole, it holds ~70 MB at once. ``loads_pruned`` walks the top-level object
itself and decodes the arrays named in ``prune`` one element at a time, each element passed
through its function before the next is decoded, so only the pruned elements accumulate.
Every other value is decoded whole, by ``json``'s own scanner.

The result is what ``prune`` would make of ``json.loads(body)``, and so is every error: any
body the walk does not take (not an object, not UTF-8, invalid anywhere) is decoded again by
``loads`` (``json.loads`` or a faster one that raises what it raises), which raises json's
own error or returns the document, then pruned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Prune = Callable[[Any], Any]  # an element -> what is kept of it (None: dropped)

_decoder = json.JSONDecoder()
_space = re.compile(r"[ \t\n\r]*")


class _NotTaken(Exception):
    """The walk met something it leaves to the plain decoder."""


def loads_pruned(
    body: bytes, prune: Mapping[str, Prune], loads: Callable[[bytes], Any] = json.loads
) -> Any:
    """``body`` decoded, each element of the top-level arrays named in ``prune`` replaced by
    what its function returns (and left out when that is None)."""
    try:
        return _walk(body.decode("utf-8"), prune)
    except (UnicodeDecodeError, _NotTaken, json.JSONDecodeError, RecursionError):
        pass
    return prune_document(loads(body), prune)


def prune_document(doc: Any, prune: Mapping[str, Prune]) -> Any:
    """What ``loads_pruned`` makes of an already decoded document."""
    if not isinstance(doc, dict):
        return doc
    for key, keep in prune.items():
        items = doc.get(key)
        if isinstance(items, list):
            doc[key] = [kept for kept in map(keep, items) if kept is not None]
    return doc


def _walk(text: str, prune: Mapping[str, Prune]) -> dict[str, Any]:
    decode = _decoder.raw_decode
    at = _expect(text, _skip(text, 0), "{")
    doc: dict[str, Any] = {}
    at = _skip(text, at)
    if text.startswith("}", at):
        return _end(text, at + 1, doc)
    while True:
        if not text.startswith('"', at):
            raise _NotTaken
        key, at = decode(text, at)
        at = _skip(text, _expect(text, _skip(text, at), ":"))
        keep = prune.get(key)
        if keep is not None and text.startswith("[", at):
            doc[key], at = _pruned_array(text, at + 1, keep)
        else:
            doc[key], at = decode(text, at)
        at = _skip(text, at)
        if text.startswith("}", at):
            return _end(text, at + 1, doc)
        at = _skip(text, _expect(text, at, ","))


def _pruned_array(text: str, at: int, keep: Prune) -> tuple[list[Any], int]:
    decode = _decoder.raw_decode
    kept: list[Any] = []
    at = _skip(text, at)
    if text.startswith("]", at):
        return kept, at + 1
    while True:
        item, at = decode(text, at)
        pruned = keep(item)
        if pruned is not None:
            kept.append(pruned)
        del item  # before the next element is decoded
        at = _skip(text, at)
        if text.startswith("]", at):
            return kept, at + 1
        at = _skip(text, _expect(text, at, ","))


def _skip(text: str, at: int) -> int:
    """Past the whitespace at ``at`` (the pattern matches the empty string too)."""
    found = _space.match(text, at)
    assert found is not None
    return found.end()


def _expect(text: str, at: int, char: str) -> int:
    if not text.startswith(char, at):
        raise _NotTaken
    return at + 1


def _end(text: str, at: int, doc: dict[str, Any]) -> dict[str, Any]:
    if _skip(text, at) != len(text):
        raise _NotTaken  # extra data: json.loads says where
    return doc
