"""Template revisions: the immutable record each create or update of a template leaves behind."""

from __future__ import annotations

import hashlib
from datetime import datetime

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_catalog.models import TemplateRevisionRow

MAX_CHANGE_NOTE = 2000
MAX_AUTHOR = 255


def digest(document: str) -> str:
    """sha256 of the document's text, hex: the same document always has the same digest."""
    return hashlib.sha256(document.encode()).hexdigest()


def check_change_note(change_note: str) -> None:
    if len(change_note) > MAX_CHANGE_NOTE:
        raise InvalidArgument(
            "change_note is too long",
            [FieldViolation("change_note", f"must be at most {MAX_CHANGE_NOTE} characters")],
        )


def check_revision(revision: int, field: str = "revision") -> None:
    if revision < 0:
        raise InvalidArgument(
            f"{field} must not be negative",
            [FieldViolation(field, "must be zero (latest) or a revision number")],
        )


def revision_row(
    *, template: str, revision: int, document: str, author: str, change_note: str, when: datetime
) -> TemplateRevisionRow:
    """The revision row written in the same transaction as the template's change."""
    return TemplateRevisionRow(
        template=template,
        revision=revision,
        document=document,
        digest=digest(document),
        author=author[:MAX_AUTHOR],
        change_note=change_note,
        create_time=when,
    )
