"""Masking credentials in anything about to be logged: values under secret-looking keys, and secret-looking
text (bearer values, JWTs, ``password=...`` pairs, passwords in URLs) inside messages and exception text.

This is the last line of defence: code should not log secrets at all, but a traceback or a library's
message may carry one (an ``Authorization`` header in a repr, a database URL in a connection error).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# A value logged under a key containing one of these words is a credential (case-insensitive, ``-`` as ``_``).
_SECRET_KEY = re.compile(
    r"authorization|cookie|token|secret|password|passwd|api_?key|private_?key|credential|bearer",
    re.IGNORECASE,
)

# A JWT (header.payload.signature, each base64url; the header always starts with ``{"`` → ``eyJ``).
_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{1,16384}\.[A-Za-z0-9_-]{0,4096}"
)
# A bearer credential in free text (``Basic`` values are caught as ``Authorization: Basic ...`` pairs).
_BEARER = re.compile(r"\b(bearer)(\s{1,16}|%20)([A-Za-z0-9._~+/=:-]{4,4096})", re.IGNORECASE)
# ``name=value``, ``name: value``, ``'name': 'value'``, ``"name": "value"``: the value is masked when the
# name is a secret-looking key. A name starts only where a word starts, so no input makes this quadratic.
_PAIR_HEAD = re.compile(r"""(?<![\w-])(?P<name>[\w-]{1,80})['"]?\s{0,16}[:=]\s{0,16}(?:b?['"])?""")
_PAIR_VALUE = re.compile(r"""(?:bearer\s{1,16}|basic\s{1,16})?[^\s'",;&)}\[\]]{1,4096}""", re.IGNORECASE)
# ``scheme://user:password@host``. Every repetition is bounded so that no input makes a pattern quadratic.
_URL_PASSWORD = re.compile(
    r"(?P<prefix>\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@]{0,256}:)(?P<password>[^@\s/]{1,256})(?=@)", re.IGNORECASE
)
# What every pattern above needs somewhere in the text: a JWT's ``eyJ``, a pair's or a URL's ``:``/``=``, a
# bearer value's scheme. Most logged values (a path, a method, a name) have none, and skip the four scans.
_ANY_SECRET_SHAPE = re.compile(r"eyJ|[:=]|bearer", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a value logged or sent under ``key`` is a credential (``Authorization``, ``*token*``, ...).

    Cached: a process logs the same few keys over and over, a dozen per line."""
    return bool(_SECRET_KEY.search(key.replace("-", "_")))


def redact_text(text: str) -> str:
    """``text`` with every credential-looking part replaced by ``[redacted]``."""
    if not text or not _ANY_SECRET_SHAPE.search(text):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + REDACTED, text)
    # Pairs before bare bearer values, so ``authorization: Bearer x`` is masked whole.
    text = _mask_pairs(text)
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def _mask_pairs(text: str) -> str:
    parts: list[str] = []
    done = 0
    for head in _PAIR_HEAD.finditer(text):
        if head.start() < done or not is_secret_key(head.group("name")):
            continue
        value = _PAIR_VALUE.match(text, head.end())
        if value is None:
            continue
        parts += [text[done : head.end()], REDACTED]
        done = value.end()
    return "".join(parts) + text[done:] if parts else text


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` safe to log: secret keys masked at any depth, strings scrubbed with
    ``redact_text``; the original is never changed."""
    if key is not None and value is not None and value != "" and is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    return value
