"""Webhook receivers: validation, and the URL as shown to callers (credentials masked)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_alerting.rules import TEAM_NAME

RECEIVER_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
MASK = "***"


@dataclass(frozen=True)
class Receiver:
    """A webhook for the alerts of ``team``; with an empty team, of teams that have no receiver."""

    receiver_id: str
    team: str
    url: str
    send_resolved: bool
    create_time: float = 0.0

    @property
    def name(self) -> str:
        """Resource name ``receivers/{receiver}``."""
        return f"receivers/{self.receiver_id}"


def validate_receiver(receiver_id: str, team: str, url: str) -> None:
    """Raise InvalidArgument naming every bad field."""
    violations = []
    if not RECEIVER_ID.match(receiver_id):
        violations.append(
            FieldViolation(
                "receiver_id", "required; lowercase letters, digits and '-', starting with a letter"
            )
        )
    if team and not TEAM_NAME.match(team):
        violations.append(
            FieldViolation("receiver.team", "lowercase letters, digits, '-', '_' or '.'; empty = default")
        )
    problem = url_problem(url)
    if problem:
        violations.append(FieldViolation("receiver.url", problem))
    if violations:
        raise InvalidArgument("the receiver is invalid", violations)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL, or None."""
    if not url:
        return "required"
    # Imported here, as by the HTTP client (see paved_alerting.http_client): the settings use this module,
    # and most configurations name no URL.
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "not a valid URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "must be an absolute http:// or https:// URL"
    return None


def masked_url(url: str) -> str:
    """``url`` without secrets: the password and the query values, which often hold tokens, are masked."""
    import httpx  # as in url_problem

    parsed = httpx.URL(url)
    if parsed.password:
        parsed = parsed.copy_with(username=parsed.username, password=MASK)
    if parsed.query:
        parsed = parsed.copy_with(query="&".join(f"{key}={MASK}" for key in parsed.params).encode())
    return str(parsed)
