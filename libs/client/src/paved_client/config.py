"""Where the CLI finds the gateway and its token: flags, then ``PAVED_URL``/``PAVED_TOKEN``, then the
config file (``$PAVED_CONFIG`` or ``~/.config/paved/config.toml``), then the ``make run`` default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8080"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and key."""


@dataclass(frozen=True)
class ClientConfig:
    """Gateway URL, bearer token (None: send none) and request timeout."""

    url: str = DEFAULT_URL
    token: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:
        return (
            f"ClientConfig(url={self.url!r}, token={'***' if self.token else None}, timeout={self.timeout})"
        )


def config_path() -> Path:
    """The config file in effect."""
    explicit = os.environ.get("PAVED_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "paved" / "config.toml"


def _read_file(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"url", "token", "timeout"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)} (known: url, token, timeout)")
    return data


def load_config(
    url: str | None = None, token: str | None = None, timeout: float | None = None
) -> ClientConfig:
    """The effective configuration; a flag beats the environment, which beats the file."""
    file = _read_file(config_path())
    env_timeout = os.environ.get("PAVED_TIMEOUT")
    resolved_url = url or os.environ.get("PAVED_URL") or file.get("url") or DEFAULT_URL
    resolved_token = token or os.environ.get("PAVED_TOKEN") or file.get("token") or None
    raw_timeout = timeout if timeout is not None else env_timeout or file.get("timeout") or 30.0
    if not isinstance(resolved_url, str) or not resolved_url.startswith(("http://", "https://")):
        raise ConfigError(f"url: must start with http:// or https://, got {resolved_url!r}")
    if resolved_token is not None and not isinstance(resolved_token, str):
        raise ConfigError("token: must be a string")
    try:
        seconds = float(raw_timeout)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"timeout: must be a number of seconds, got {raw_timeout!r}") from None
    if seconds <= 0:
        raise ConfigError("timeout: must be positive")
    return ClientConfig(url=resolved_url.rstrip("/"), token=resolved_token, timeout=seconds)
