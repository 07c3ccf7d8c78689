"""Drift as the portal sees it: the catalog's revision drift joined with provisioning's hand-edit check
(the catalog renders, provisioning owns the GitOps files; the gateway asks both)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf import json_format
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.structs import integral

from paved_gateway import drift_schemas as schemas
from paved_gateway.backends import Backends
from paved_gateway.errors import call

# CheckGitOpsEdits takes at most this many names per call.
EDITS_BATCH = 1000
_CHANGES: dict[int, schemas.ChangeName] = {
    common_pb2.CHANGE_KIND_ADDED: "added",
    common_pb2.CHANGE_KIND_CHANGED: "changed",
    common_pb2.CHANGE_KIND_REMOVED: "removed",
}


def _value(message: Any, field: str) -> Any:
    """A field's JSON value; whole numbers as integers again (``google.protobuf.Value`` carries doubles)."""
    return integral(json_format.MessageToDict(getattr(message, field))) if message.HasField(field) else None


def object_changes(changes: Any) -> list[schemas.ObjectChange]:
    return [
        schemas.ObjectChange(
            key=o.key,
            kind=o.kind,
            name=o.name,
            resource=o.resource,
            change=_CHANGES[o.change],
            fields=[
                schemas.FieldChange(
                    path=f.path,
                    change=_CHANGES[f.change],
                    before=_value(f, "before"),
                    after=_value(f, "after"),
                )
                for f in o.fields
            ],
        )
        for o in changes
    ]


def counts(changes: list[schemas.ObjectChange]) -> schemas.ChangeCounts:
    counts = schemas.ChangeCounts()
    for change in changes:
        setattr(counts, change.change, getattr(counts, change.change) + 1)
    return counts


async def gitops_edits(backends: Backends, names: list[str]) -> dict[str, provisioning_pb2.GitOpsEdits]:
    """Provisioning's hand-edit check of each service environment, by name."""
    found: dict[str, provisioning_pb2.GitOpsEdits] = {}
    for start in range(0, len(names), EDITS_BATCH):
        reply = await call(
            "provisioning",
            backends.provisioning.CheckGitOpsEdits(
                provisioning_pb2.CheckGitOpsEditsRequest(names=names[start : start + EDITS_BATCH])
            ),
        )
        found.update((e.name, e) for e in reply.edits)
    return found


def _time(stamp: Any) -> str:
    return stamp.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def pin_of(pin: catalog_pb2.TemplatePin) -> schemas.Pin:
    return schemas.Pin(
        revision=pin.revision,
        reason=pin.reason,
        expires_at=_time(pin.expire_time),
        pinned_by=pin.pinned_by,
        pinned_at=_time(pin.create_time) if pin.HasField("create_time") else None,
    )


def service_drift(
    entry: catalog_pb2.ServiceDrift, edits: provisioning_pb2.GitOpsEdits | None
) -> schemas.ServiceDrift:
    changes = object_changes(entry.changes)
    edited = edits is not None and edits.hand_edited
    return schemas.ServiceDrift(
        service=entry.service.removeprefix("services/"),
        environment=entry.environment,
        team=entry.team,
        revision=entry.revision,
        revisions_behind=entry.revisions_behind,
        counts=counts(changes),
        changes=changes,
        problem=entry.problem or None,
        hand_edited=edited,
        hand_edits=schemas.HandEdits(
            path=edits.path,
            paved_commit=edits.paved_commit,
            last_commit=edits.last_commit,
            files=list(edits.files),
            changes=object_changes(edits.changes),
        )
        if edited and edits is not None
        else None,
        pin=pin_of(entry.pin) if entry.HasField("pin") else None,
    )


async def drift_of(
    backends: Backends, template: str, revision: int, service: str | None, teams: list[str] | None
) -> tuple[catalog_pb2.TemplateDrift, list[schemas.ServiceDrift]]:
    """The catalog's drift of ``template`` (one ``service`` of it when given), restricted to ``teams``
    (None: every team), each entry with its hand edits."""
    drift = await call(
        "catalog",
        backends.catalog.GetTemplateDrift(
            catalog_pb2.GetTemplateDriftRequest(
                name=f"templates/{template}",
                revision=revision,
                service=f"services/{service}" if service else "",
            )
        ),
        fields={"name": "template"},
    )
    entries = [s for s in drift.services if teams is None or s.team in teams]
    edits = await gitops_edits(backends, [s.name for s in entries]) if entries else {}
    return drift, [service_drift(s, edits.get(s.name)) for s in entries]
