"""psql-style parameters of the migration scripts, substituted safely for their position.

The scripts use psql's variable syntax so a human can run one by hand
(``psql -1 -v vector_dim=1024 -v vector_suffix= -f ...``) and get what the migrator applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from psycopg import sql

from schema_kit.errors import MigrationError

__all__ = ["DEFAULT_PARAMS", "Params", "render"]

# psql variable syntax, so a human can replay a file with `psql -v vector_dim=1024 -f`:
# :name (verbatim: integers only here), :'name' (a string literal), :"name" (an identifier).
_PARAM = re.compile(
    r"(?<![:\w]):(?:(?P<name>[a-z_][a-z0-9_]*)\b|'(?P<literal>[a-z_][a-z0-9_]*)'"
    r"|\"(?P<ident>[a-z_][a-z0-9_]*)\")"
)
# Parameters a migration may use that every caller need not name (3.2.0's vector_suffix:
# empty keeps LightRAG's plain vector table names).
DEFAULT_PARAMS: dict[str, int | str] = {"vector_suffix": ""}
Params = Mapping[str, int | str]


def render(text: str, params: Params) -> str:
    """Substitute psql-style parameters whose name is known, each quoted for its position.

    ``:name`` is written verbatim and so must be an integer (a string there could be any
    SQL); ``:'name'`` becomes a string literal and ``:"name"`` a quoted identifier, both
    escaped by psycopg. Like psql, an unknown name is left as written (a comment may say
    ``a:b``).
    """

    def sub(match: re.Match[str]) -> str:
        name = match["name"] or match["literal"] or match["ident"]
        if name not in params:
            return match[0]
        value = params[name]
        if match["literal"]:
            return sql.Literal(str(value)).as_string(None)
        if match["ident"]:
            return sql.Identifier(str(value)).as_string(None)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MigrationError(
                f"parameter {name}={value!r} is written :{name}, which takes an integer; "
                f"write :'{name}' for a string or :\"{name}\" for an identifier"
            )
        return str(value)

    return _PARAM.sub(sub, text)
