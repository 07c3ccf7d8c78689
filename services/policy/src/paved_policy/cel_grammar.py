"""celpy's CEL parser with its parse tables cached on disk.

Building the LALR tables from celpy's grammar costs about 130 ms of CPU, the largest single part of a
policy service's start-up after its imports; loading them from the cache (``Lark.load``) costs about
8 ms. The cache is a file in the user's cache directory (``$XDG_CACHE_HOME/paved``, else
``~/.cache/paved``, made private to the user) named by a digest of the grammar and the versions of lark
and Python, so an upgrade writes a new one. It is a pickle, so it is read and written only while nobody
else may write it or its directory. It is written with ``Lark.save`` under a temporary name and renamed,
so a service starting at the same time never reads half of it; one that cannot be read is built and
written again. Where that directory cannot be written the tables are built as before, every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from pathlib import Path

import lark
from celpy.celparser import CELParser
from paved_kit.logging import get_logger

_log = get_logger(__name__)

#: Part of the cache's name: change it when ``build``'s options change.
_OPTIONS_VERSION = 1
_GRAMMAR = Path(sys.modules[CELParser.__module__].__file__ or "").with_name("cel.lark")


def cache_directory() -> Path | None:
    """Where Paved keeps files it can rebuild; None when there is no home to keep them in."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"))
    return base / "paved" if base.is_absolute() else None


def cel_parser() -> CELParser:
    """celpy's parser; the first call in a process loads (or builds and caches) the shared tables."""
    if CELParser.CEL_PARSER is None:
        directory = cache_directory()
        grammar = _GRAMMAR.read_text()
        CELParser.CEL_PARSER = _cached(grammar, directory) if directory else build(grammar)
    return CELParser()


def build(grammar: str) -> lark.Lark:
    """The parser with celpy's options (``celpy.celparser.CELParser.__init__``)."""
    return lark.Lark(
        grammar,
        parser="lalr",
        start="expr",
        debug=True,
        g_regex_flags=re.M,
        lexer_callbacks={"IDENT": CELParser.ambiguous_literals},
        propagate_positions=True,
        maybe_placeholders=False,
        priority="invert",
    )


def _private(path: Path) -> bool:
    """Whether ``path`` is this user's and nobody else may write it: the cache is a pickle, and one that
    someone else could put there would run their code here."""
    try:
        status = path.stat()
    except OSError:
        return False
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _cached(grammar: str, directory: Path) -> lark.Lark:
    versions = f"{_OPTIONS_VERSION} {lark.__version__} {sys.version_info[:2]}"
    key = hashlib.sha256(f"{versions}\0{grammar}".encode()).hexdigest()[:24]
    path = directory / f"cel-{key}.lark"
    if _private(directory) and _private(path):
        try:
            with path.open("rb") as cached:
                return lark.Lark.load(cached)
        except OSError:
            pass  # gone meanwhile: built below
        except Exception:  # what unpickling half a file raises varies; the file is rebuilt either way
            _log.warning("CEL parser cache unreadable; rebuilding it", path=str(path))
    parser = build(grammar)
    temporary = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private(directory):
            with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
                parser.save(file)
            temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return parser
