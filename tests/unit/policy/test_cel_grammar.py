"""The cached CEL parser parses exactly as celpy's own, from a fresh cache, a warm one, a damaged one or
none at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from celpy.celparser import CELParser
from lark import Lark
from paved_policy import cel_grammar

EXPRESSIONS = [
    "resource.kind == 'Deployment' && resource.replicas >= 2",
    "true || false",
    "has(resource.tags.owner) ? resource.tags.owner.startsWith('team-') : false",
    "resource.containers.all(c, c.image.matches('^registry\\\\.example/.+:[0-9.]+$'))",
    "[1, 2u, 3.5, -4, b'x', null].size() > 0 && {'a': 1}['a'] in [1]",
    "int(resource.properties['cpu']) % 2 != 0 || !(context.env in ['prod', 'staging'])",
    'r"raw\\d" + """triple""" + \'\\u00e9\'',
]


@pytest.fixture
def stock() -> Lark:
    """celpy's own parser, built the way celpy builds it."""
    saved = CELParser.CEL_PARSER
    CELParser.CEL_PARSER = None
    try:
        CELParser()
        parser = CELParser.CEL_PARSER
    finally:
        CELParser.CEL_PARSER = saved
    assert parser is not None
    return parser


def grammar() -> str:
    return cel_grammar._GRAMMAR.read_text()


def same_trees(parser: Lark, stock: Lark) -> None:
    for expression in EXPRESSIONS:
        assert parser.parse(expression) == stock.parse(expression), expression


def test_a_fresh_cache_is_written_once_and_then_read(tmp_path: Path, stock: Lark) -> None:
    directory = tmp_path / "cache" / "paved"
    same_trees(cel_grammar._cached(grammar(), directory), stock)
    (written,) = directory.iterdir()
    assert written.name.startswith("cel-") and written.stat().st_size > 10_000
    assert directory.stat().st_mode & 0o777 == 0o700
    before = written.stat().st_mtime_ns
    same_trees(cel_grammar._cached(grammar(), directory), stock)
    assert list(directory.iterdir()) == [written] and written.stat().st_mtime_ns == before


def test_a_damaged_cache_is_rebuilt(tmp_path: Path, stock: Lark) -> None:
    cel_grammar._cached(grammar(), tmp_path)
    (written,) = tmp_path.iterdir()
    written.write_bytes(b"not a cache\n\x00\x01")
    same_trees(cel_grammar._cached(grammar(), tmp_path), stock)
    assert list(tmp_path.iterdir()) == [written] and written.stat().st_size > 10_000


def test_an_unwritable_cache_directory_still_gives_the_parser(tmp_path: Path, stock: Lark) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory would go")
    same_trees(cel_grammar._cached(grammar(), blocked / "paved"), stock)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_cache_others_may_write_is_neither_read_nor_written(tmp_path: Path, stock: Lark) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    same_trees(cel_grammar._cached(grammar(), shared), stock)
    assert list(shared.iterdir()) == []
    # A cache file others may write (say, planted there) is not loaded, and is replaced by this user's.
    shared.chmod(0o700)
    cel_grammar._cached(grammar(), shared)
    (written,) = shared.iterdir()
    assert written.stat().st_mode & 0o777 == 0o600
    written.write_bytes(b"planted")
    written.chmod(0o666)
    same_trees(cel_grammar._cached(grammar(), shared), stock)
    assert written.stat().st_mode & 0o777 == 0o600 and written.stat().st_size > 10_000


def test_the_cache_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cel_grammar.cache_directory() == tmp_path / "paved"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cel_grammar.cache_directory() == Path.home() / ".cache" / "paved"
    # No home to expand (HOME unset, no passwd entry): no cache rather than a "~" directory here.
    monkeypatch.setattr(cel_grammar.os.path, "expanduser", lambda path: path)
    assert cel_grammar.cache_directory() is None
