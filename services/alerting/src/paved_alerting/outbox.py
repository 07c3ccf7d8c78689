"""The notification queue: turns alert transitions into outbox rows (webhooks per receiver, or Alertmanager).

Rows are written in the caller's transaction, next to the alert states they report; the dispatcher
delivers them. Alertmanager gets firing alerts again every resend interval, as Prometheus sends them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import store
from paved_alerting.delivery import Dispatcher
from paved_alerting.evaluator import AlertState, AlertStatus, Transition
from paved_alerting.notifications import (
    ReceiverTarget,
    alertmanager_alerts,
    route,
    snapshot,
    webhook_payload,
)
from paved_alerting.rules import Rule

DEFAULT_CONFIG_RECEIVER = "default"


@dataclass(frozen=True)
class Notifier:
    """Where notifications go besides the receivers table."""

    external_url: str
    alertmanager_url: str | None = None
    default_webhook_url: str | None = None
    resend_seconds: float = 60.0


class NotificationQueue:
    """Writes notifications to the outbox and wakes the dispatcher."""

    def __init__(self, notifier: Notifier, dispatcher: Dispatcher | None = None) -> None:
        self._notifier = notifier
        self._dispatcher = dispatcher
        self._last_sent: dict[str, float] = {}

    def with_resends(
        self, notify: list[Transition], now: float, firing: Callable[[], Sequence[tuple[Rule, AlertStatus]]]
    ) -> list[Transition]:
        """``notify`` plus the firing alerts due to be sent to Alertmanager again (none for webhooks)."""
        if not self._notifier.alertmanager_url:
            return notify
        # Alertmanager forgets an alert that is not re-sent before its endsAt, so, as Prometheus does,
        # firing alerts are sent again every resend interval, each time valid for a few more intervals.
        resend = self._notifier.resend_seconds
        changed = {t.rule.rule_id for t in notify}
        for t in notify:
            if t.status.state is AlertState.RESOLVED:
                self._last_sent.pop(t.rule.rule_id, None)
            else:
                self._last_sent[t.rule.rule_id] = now
        again = []
        for rule, status in firing():
            if rule.rule_id not in changed and now - self._last_sent.get(rule.rule_id, -math.inf) >= resend:
                self._last_sent[rule.rule_id] = now
                again.append(Transition(rule, AlertState.FIRING, replace(status)))
        return notify + again

    async def enqueue(
        self,
        session: AsyncSession,
        transitions: Sequence[Transition],
        now: float,
        fingerprint_of: Callable[[str], str],
    ) -> int:
        """Write the notifications of ``transitions`` in the session's transaction; returns how many."""
        if not transitions:
            return 0
        external = self._notifier.external_url
        snapshots = [
            (t.rule.team, snapshot(t.rule, t.status, fingerprint_of(t.rule.rule_id), external))
            for t in transitions
        ]
        rows: list[dict[str, Any]] = []
        if self._notifier.alertmanager_url:
            url = f"{self._notifier.alertmanager_url}/api/v2/alerts"
            valid_until = now + 4 * self._notifier.resend_seconds
            body = json.dumps(alertmanager_alerts([alert for _, alert in snapshots], valid_until))
            rows.append(_outbox("alertmanager", "alertmanager", url, body, "alertmanager"))
        else:
            receivers = await self._targets(session)
            for team, alert in snapshots:
                for target in route(team, receivers):
                    if alert.status == "resolved" and not target.send_resolved:
                        continue
                    body = json.dumps(webhook_payload(target.name, [alert], external))
                    key = f"{target.name}/{alert.fingerprint}"
                    rows.append(_outbox(target.name, "webhook", target.url, body, key))
        await store.enqueue(session=session, rows=rows)
        return len(rows)

    async def _targets(self, session: AsyncSession) -> list[ReceiverTarget]:
        rows = await store.list_receivers(session=session, after=None, limit=None)
        targets = [ReceiverTarget(row.receiver_id, row.team, row.url, row.send_resolved) for row in rows]
        if self._notifier.default_webhook_url:
            targets.append(ReceiverTarget(DEFAULT_CONFIG_RECEIVER, "", self._notifier.default_webhook_url))
        return targets

    def wake(self) -> None:
        """Tell the dispatcher there is something to deliver (after the transaction committed)."""
        if self._dispatcher is not None:
            self._dispatcher.wake()


def _outbox(receiver: str, kind: str, url: str, payload: str, ordering_key: str) -> dict[str, Any]:
    # Delivery runs on the wall clock, not the evaluation clock: retries are about the real receiver.
    now = time.time()
    return {
        "receiver": receiver,
        "kind": kind,
        "ordering_key": ordering_key,
        "url": url,
        "payload": payload,
        "attempts": 0,
        "next_attempt_at": now,
        "dead": False,
        "create_time": now,
    }
