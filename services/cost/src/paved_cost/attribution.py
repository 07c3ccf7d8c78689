"""Attribution of billing rows to a service and a team from their tags, with a configurable key order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Attribution:
    """Which tag keys name a service and which a team; the first key present with a value wins.

    Keys match case-insensitively and ignoring surrounding spaces, because exports spell them
    inconsistently (the FOCUS sample has both ``org`` and `` org``).
    """

    service_keys: Sequence[str] = ("service", "application")
    team_keys: Sequence[str] = ("team", "owner", "cost_center")

    def attribute(self, tags: Mapping[str, str]) -> tuple[str | None, str | None]:
        """``(service, team)`` named by ``tags``; None where no key matches."""
        if not tags:
            return None, None
        normalized = {
            key.strip().lower(): value.strip() for key, value in tags.items() if value and value.strip()
        }
        return _first(normalized, self.service_keys), _first(normalized, self.team_keys)


def _first(tags: Mapping[str, str], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = tags.get(key.strip().lower())
        if value:
            return value
    return None


def bare_service_name(service: str) -> str:
    """``services/checkout`` → ``checkout``; a bare name stays as it is."""
    return service.removeprefix("services/")
