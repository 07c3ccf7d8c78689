"""Alertmanager's alert fingerprint: FNV-1a 64 over the sorted label pairs, printed as 16 hex digits."""

from __future__ import annotations

from collections.abc import Mapping

_OFFSET = 14695981039346656037
_PRIME = 1099511628211
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Prometheus and Alertmanager give a label set (``model.LabelSet.Fingerprint``)."""
    digest = _OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), labels[name].encode()):
            for byte in chunk:
                digest = ((digest ^ byte) * _PRIME) & _MASK
            digest = ((digest ^ _SEPARATOR) * _PRIME) & _MASK
    return f"{digest:016x}"
