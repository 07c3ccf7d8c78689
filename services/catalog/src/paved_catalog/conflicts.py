"""Small pieces the catalog's use cases share: the clock and the etag conflict error."""

from __future__ import annotations

from datetime import UTC, datetime

from paved_kit.errors import Aborted


def utc_now() -> datetime:
    return datetime.now(UTC)


def etag_mismatch(collection: str, resource_id: str) -> Aborted:
    """ABORTED: someone else changed ``{collection}/{resource_id}`` since the caller read it."""
    return Aborted(
        f"{collection}/{resource_id} was changed by someone else; read it again and retry",
        reason="ETAG_MISMATCH",
        metadata={"resource": f"{collection}/{resource_id}"},
    )
