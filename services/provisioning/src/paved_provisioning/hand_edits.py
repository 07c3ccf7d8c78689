"""What a hand edit changed: the GitOps files Paved last committed against the files now, as objects and
fields (the structured diff of :mod:`paved_kit.structured_diff`), each object tagged with its file.

YAML files are read as their documents, JSON files as one object; a file that does not parse (or is not
YAML or JSON, such as the documentation page) counts as one object holding its text. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from paved_kit.structured_diff import PlanDiff, diff_objects

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def file_objects(path: str, content: bytes) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of one file as ``(path, object)`` pairs."""
    text = content.decode(errors="replace")
    try:
        if path.endswith((".yaml", ".yml")):
            documents = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
        elif path.endswith(".json"):
            documents = [json.loads(text)]
        else:
            documents = [{"text": text}]
    except (yaml.YAMLError, ValueError):
        documents = [{"text": text}]
    return [(path, d if isinstance(d, Mapping) else {"value": d}) for d in documents]


def files_diff(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> PlanDiff:
    """The structured diff of two sets of files (relative path -> content); unchanged files are skipped."""
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    old = [pair for p in changed if p in before for pair in file_objects(p, before[p])]
    new = [pair for p in changed if p in after for pair in file_objects(p, after[p])]
    return diff_objects(old, new)
