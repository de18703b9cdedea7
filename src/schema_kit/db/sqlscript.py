"""SQL scripts as psql reads them: statements, psql meta-commands, and lines of the file.

The migrator runs a script one statement at a time, split where ``psql -f`` splits it (a
``;`` outside quotes, comments, parentheses and ``BEGIN ATOMIC … END`` bodies), so a failure
names the line of the statement that failed, and ``psql -1 -f`` runs exactly what the
migrator runs. Parameters are rendered line by line, so an offset in the rendered text maps
back to a line of the file even where a value is longer or shorter than its ``:name``.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from schema_kit.db.sqlparams import Params, render
from schema_kit.errors import MigrationError

__all__ = ["MetaCommand", "Script", "Statement", "meta_commands", "split"]


@dataclass(frozen=True)
class Statement:
    """One statement of a text: ``text[start:end]`` (from its first token to its ``;``)."""

    start: int
    end: int
    # Where the content of the statement's first string literal begins (a DO block's body).
    body: int | None = None


@dataclass(frozen=True)
class MetaCommand:
    """A psql meta-command (``\\echo``, ``\\set`` …) outside quotes and comments."""

    offset: int
    command: str


_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<string>'(?:[^']|'')*(?:'|\Z))
    | (?P<ident>"(?:[^"]|"")*(?:"|\Z))
    | (?P<dollar>\$(?:[^\W\d][\w]*)?\$)
    | (?P<param>\$\d+)
    | (?P<word>[^\W\d][\w$]*)
    | (?P<number>\d[\w.]*)
    | (?P<meta>\\\S*)
    | (?P<semicolon>;)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_ROUTINE = (("create", "function"), ("create", "procedure"),
            ("create", "or", "replace", "function"), ("create", "or", "replace", "procedure"))


@dataclass(frozen=True)
class _Scan:
    statements: tuple[Statement, ...]
    metas: tuple[MetaCommand, ...]


def _block_comment_end(text: str, pos: int) -> int:
    """The end of the (nested) block comment opened just before ``pos``."""
    depth = 1
    for edge in _COMMENT_EDGE.finditer(text, pos):
        depth += 1 if edge[0] == "/*" else -1
        if depth == 0:
            return edge.end()
    return len(text)


@functools.lru_cache(maxsize=512)
def _scan(text: str) -> _Scan:
    statements: list[Statement] = []
    metas: list[MetaCommand] = []
    start: int | None = None
    body: int | None = None
    words: list[str] = []
    parens = begins = 0
    pos = 0
    while pos < len(text):
        token = _TOKEN.match(text, pos)
        assert token is not None  # `other` matches any character
        kind, end = token.lastgroup, token.end()
        content = end
        if kind == "block_comment":
            end = _block_comment_end(text, end)
        elif kind == "dollar":
            close = text.find(token[0], end)
            end = len(text) if close < 0 else close + len(token[0])
        if kind in ("ws", "line_comment", "block_comment"):
            pos = end
            continue
        if kind == "meta":
            metas.append(MetaCommand(pos, token[0]))
        if start is None:
            start, body, words, parens, begins = pos, None, [], 0, 0
        if kind in ("string", "estring", "dollar") and body is None:
            body = content if kind == "dollar" else text.index("'", pos) + 1
        elif kind == "word":
            word = token[0].lower()
            if len(words) < 4:
                words.append(word)
            # psql's rule for BEGIN ATOMIC … END bodies of CREATE FUNCTION / PROCEDURE.
            if parens == 0 and any(tuple(words[: len(r)]) == r for r in _ROUTINE):
                if word == "begin" or (word == "case" and begins):
                    begins += 1
                elif word == "end" and begins:
                    begins -= 1
        elif kind == "open":
            parens += 1
        elif kind == "close":
            parens = max(0, parens - 1)
        elif kind == "semicolon" and parens == 0 and begins == 0:
            statements.append(Statement(start, end, body))
            start = None
        pos = end
    if start is not None:
        statements.append(Statement(start, len(text), body))
    return _Scan(tuple(statements), tuple(metas))


def split(text: str) -> tuple[Statement, ...]:
    """The statements of ``text`` where psql would split them."""
    return _scan(text).statements


def meta_commands(text: str) -> tuple[MetaCommand, ...]:
    """The psql meta-commands of ``text`` (a backslash outside quotes and comments)."""
    return _scan(text).metas


def line_of(text: str, offset: int) -> int:
    """The 1-based line of ``text`` that ``offset`` falls on."""
    return text.count("\n", 0, offset) + 1


@dataclass(frozen=True)
class Script:
    """A SQL file rendered with its parameters, split into statements, with a line map."""

    path: Path
    rendered: str
    statements: tuple[Statement, ...]
    # The offset in ``rendered`` where each line of the file begins.
    _starts: tuple[int, ...]

    @classmethod
    def load(cls, path: Path, params: Params) -> Script:
        path = Path(path)
        pieces: list[str] = []
        starts: list[int] = []
        offset = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(True), 1):
            try:
                piece = render(line, params)
            except MigrationError as exc:
                raise MigrationError(f"{path}:{number}: {exc}") from None
            starts.append(offset)
            pieces.append(piece)
            offset += len(piece)
        rendered = "".join(pieces)
        return cls(path, rendered, split(rendered), tuple(starts))

    def text(self, statement: Statement) -> str:
        return self.rendered[statement.start:statement.end]

    def line_at(self, offset: int) -> int:
        """The line of the file that ``offset`` of the rendered text came from."""
        return max(1, bisect.bisect_right(self._starts, offset))

    def where(self, statement: Statement, position: int | None = None,
              routine_line: int | None = None) -> str:
        """``path:line`` of a failure in ``statement``: at the server's 1-based character
        ``position`` within it, else at line ``routine_line`` of its body (a DO block's
        PL/pgSQL line), else where the statement starts."""
        offset = statement.start
        if position:
            offset = min(statement.start + position - 1, statement.end)
        elif routine_line and statement.body is not None:
            offset = statement.body
            for _ in range(routine_line - 1):
                found = self.rendered.find("\n", offset, statement.end)
                if found < 0:
                    break
                offset = found + 1
        return f"{self.path}:{self.line_at(offset)}"
