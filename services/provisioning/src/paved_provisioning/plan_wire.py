"""A plan as the peers are sent it (a ``Plan`` message) from the dict the domain works on, and the wire form
a submission keeps so that a worker need not parse the plan again."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from paved.common.v1 import common_pb2


def plan_message(plan: dict[str, Any], wire: Mapping[str, str] | None = None) -> common_pb2.Plan:
    """The plan dict back as a proto message: a new one on each call, so the caller may change it.

    ``wire`` is what the submission kept of the message the plan came from (:func:`plan_wire`); it is used
    when the plan is still the one it was kept for. Otherwise the plan is parsed: json_format's pure-Python
    parse of a typical plan costs about 40 times what keying it by its JSON text and parsing the cached
    wire bytes does, and an operation's steps send the same plan to more than one peer."""
    text = _plan_json(plan)
    if wire is not None and wire.get("sha256") == _digest(text):
        return common_pb2.Plan.FromString(base64.b64decode(wire["bytes"]))
    return common_pb2.Plan.FromString(_plan_bytes(text))


def plan_wire(plan: dict[str, Any], message: common_pb2.Plan) -> dict[str, str]:
    """What an operation's payload keeps next to ``plan`` (made from ``message``) so that a worker need not
    parse the plan again: the message's wire form, and the digest of the plan it stands for."""
    known = common_pb2.Plan()
    known.CopyFrom(message)
    known.DiscardUnknownFields()  # as parsing the plan would
    data = base64.b64encode(known.SerializeToString(deterministic=True)).decode()
    return {"sha256": _digest(_plan_json(plan)), "bytes": data}


def _plan_json(plan: dict[str, Any]) -> str:
    return json.dumps(plan, sort_keys=True, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _plan_bytes(plan_json: str) -> bytes:
    return json_format.Parse(plan_json, common_pb2.Plan(), ignore_unknown_fields=True).SerializeToString()
