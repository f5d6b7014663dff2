"""Two security properties checked without servers: SQL is executed with bound parameters only, and a
bearer token never reaches a log line.

1. An AST scan of the code that talks to PostgreSQL (store/, gateway/, activities/, bunker/): the SQL
   text handed to asyncpg (`execute`, `fetch*`, `cursor`, `prepare`, …) must be a literal. Interpolation
   is allowed only where it is listed below, and each listed interpolation is checked to be built from
   constants alone (column lists, fixed clauses), never from a value that came from outside.
2. Requests with real-looking tokens go through the gateway app (a fake pool stands in for PostgreSQL,
   answering the principal lookup), with the production logging set-up writing to a captured stream, and
   every path that logs (401, 403, 404 as a security event, a 500 with its traceback) is taken.
"""

from __future__ import annotations

import ast
import hashlib
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("store", "gateway", "activities", "bunker", "workers")

# Methods that send SQL text to the server (asyncpg's Connection and Pool, and pgserver's psql).
SQL_METHODS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "cursor", "prepare", "psql"}

# Every place SQL text is not a plain literal, with the interpolated expressions it may contain. A new
# entry needs a reviewer to confirm the parts are constants (the scan below checks that too).
ALLOWED: dict[tuple[str, str], set[str]] = {
    # the column list, a module constant
    ("store/event_store.py", "read_stream"): {"_COLUMNS"},
    ("store/event_store.py", "read_all"): {"_COLUMNS"},
    # the column list, and a WHERE clause that is one of two literals (the stream id is bound as $1)
    ("store/event_store.py", "verify"): {"_COLUMNS", "where"},
    # a WHERE clause that is one of two literals
    ("store/principals.py", "list_all"): {"where"},
    # the abandoned-claim interval, a module constant ("60 seconds")
    ("gateway/idempotency.py", "claim"): {"_ABANDONED_AFTER"},
    # the embedded database's name, a module constant (pgserver's psql takes no parameters)
    ("store/db.py", "start_embedded"): {"EMBEDDED_DB_NAME"},
    # the text of a migration file shipped in the package (store/migrations/*.sql)
    ("store/migrate.py", "migrate"): {"m.sql"},
}


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, ast.parse(path.read_text("utf-8"), filename=rel)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    yield "<module>", tree
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node


def _own_calls(func: ast.AST) -> Iterator[ast.Call]:
    """Calls in `func`'s own body, not in functions nested in it (those are visited on their own)."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _interpolated(sql: ast.expr) -> list[ast.expr] | None:
    """The non-literal parts of an SQL argument; None when the argument is not SQL text we can read."""
    if isinstance(sql, ast.Constant):
        return [] if isinstance(sql.value, str) else None
    if isinstance(sql, ast.JoinedStr):
        return [v.value for v in sql.values if isinstance(v, ast.FormattedValue)]
    if isinstance(sql, ast.BinOp) and isinstance(sql.op, (ast.Add, ast.Mod)):
        return (_interpolated(sql.left) or []) + (_interpolated(sql.right) or [])
    if isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format":
        return [sql, *sql.args, *(k.value for k in sql.keywords)]
    return [sql]  # a name or an expression: allowed only if listed


def _is_constant(expr: ast.expr, consts: set[str], func: ast.AST) -> bool:
    """Built from literals and module constants only (looking through local assignments)."""
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.JoinedStr):
        return all(_is_constant(v.value, consts, func) for v in expr.values if isinstance(v, ast.FormattedValue))
    if isinstance(expr, ast.IfExp):
        return _is_constant(expr.body, consts, func) and _is_constant(expr.orelse, consts, func)
    if isinstance(expr, ast.Name):
        if expr.id in consts:
            return True
        values = list(_local_values(func, expr.id))
        return bool(values) and all(_is_constant(v, consts, func) for v in values)
    return False


def _local_values(func: ast.AST, name: str) -> Iterator[ast.expr]:
    """What `name` is assigned in `func`, including one position of a tuple unpacking."""
    for node in ast.walk(func):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id == name:
                yield node.value
            elif isinstance(target, ast.Tuple):
                idx = [i for i, t in enumerate(target.elts) if isinstance(t, ast.Name) and t.id == name]
                if idx:
                    yield from _tuple_items(node.value, idx[0])


def _tuple_items(value: ast.expr, i: int) -> Iterator[ast.expr]:
    if isinstance(value, ast.Tuple):
        yield value.elts[i]
    elif isinstance(value, ast.IfExp):
        yield from _tuple_items(value.body, i)
        yield from _tuple_items(value.orelse, i)
    else:
        yield value  # not a literal tuple: judged (and refused) as a whole


def _module_constants(tree: ast.Module) -> set[str]:
    """Module-level names assigned once from a literal (or literals joined)."""
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) for t in targets) and _is_constant(node.value, set(), tree):
                out |= {t.id for t in targets}
    return out


def _sql_calls() -> Iterator[tuple[str, str, int, list[str], bool]]:
    """(file, function, line, interpolated parts as source, all parts constant) for each SQL call."""
    for rel, tree in _sources():
        consts = _module_constants(tree)
        for fname, func in _functions(tree):
            for call in _own_calls(func):
                if not (isinstance(call.func, ast.Attribute) and call.func.attr in SQL_METHODS and call.args):
                    continue
                parts = _interpolated(call.args[0])
                if parts is None or not parts:
                    continue
                sources = [ast.unparse(p) for p in parts]
                yield rel, fname, call.lineno, sources, all(_is_constant(p, consts, func) for p in parts)


def test_sql_is_executed_with_bound_parameters_only():
    found = list(_sql_calls())
    assert found, "the scan found no interpolated SQL at all: is it still reading the right files?"
    unlisted = [f"{rel}:{line} in {fn}(): {parts}" for rel, fn, line, parts, _ in found
                if not set(parts) <= ALLOWED.get((rel, fn), set())]
    assert not unlisted, ("SQL built by interpolation (bind values as $1, $2, … instead, or list a constant "
                          "interpolation in ALLOWED after review):\n" + "\n".join(unlisted))


def test_every_allowed_interpolation_is_built_from_constants():
    found = list(_sql_calls())
    not_constant = [f"{rel}:{line} in {fn}(): {parts}" for rel, fn, line, parts, constant in found
                    if not constant and parts != ["m.sql"]]
    assert not not_constant, "listed interpolations must be constants:\n" + "\n".join(not_constant)
    # The one non-literal SQL text: migration files, read from the package itself, never from a caller.
    from store import migrate

    assert all(m.sql.strip() for m in migrate.available())
    # Every listed place still exists (a stale list hides nothing, but misleads the reader).
    seen = {(rel, fn) for rel, fn, *_ in found}
    assert set(ALLOWED) <= seen, f"listed but gone: {set(ALLOWED) - seen}"


def test_the_scan_catches_interpolated_values():
    """The checker itself: an f-string with a variable, %-formatting and concatenation are all caught."""
    bad = ast.parse(
        "async def f(conn, name, x):\n"
        "    await conn.fetch(f\"SELECT * FROM t WHERE name = '{name}'\")\n"
        "    await conn.execute(\"DELETE FROM t WHERE id = %s\" % x)\n"
        "    await conn.execute(\"DELETE FROM t WHERE id = \" + x)\n"
        "    await conn.fetchrow(\"SELECT {}\".format(x))\n"
        "    await conn.fetchval(\"SELECT $1\", x)\n"
    )
    func = bad.body[0]
    parts = [_interpolated(c.args[0]) for c in _own_calls(func)
             if isinstance(c.func, ast.Attribute) and c.func.attr in SQL_METHODS]
    flagged = [p for p in parts if p]
    assert len(flagged) == 4
    assert not any(_is_constant(p, set(), func) for ps in flagged for p in ps)


# ---------------------------------------------------------------------------------------- tokens in logs
TOKENS = {kind: f"bbk_{kind}-SeCrEt-{hashlib.sha256(kind.encode()).hexdigest()[:32]}"
          for kind in ("operator", "enterprise", "district", "revoked")}
CREDIT_CODE = "91440101MA59TEST0X"


class FakePool:
    """Answers the principal lookup by token hash; every other query finds nothing, or fails (`broken`)."""

    def __init__(self) -> None:
        self.broken = False
        made = datetime(2026, 1, 1, tzinfo=UTC)
        rows = {
            "operator": dict(kind="operator", body="operator", district=None, credit_code=None),
            "enterprise": dict(kind="enterprise", body="enterprise", district=None, credit_code=CREDIT_CODE),
            "district": dict(kind="agency", body="district", district="nansha", credit_code=None),
        }
        self._by_hash = {
            hashlib.sha256(TOKENS[k].encode()).hexdigest(): dict(id=i, name=f"test {k}", created_at=made,
                                                                  revoked_at=None, **row)
            for i, (k, row) in enumerate(rows.items(), 1)
        }

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        if self.broken:
            raise RuntimeError("a bug deep in a query")
        if "FROM principals WHERE token_hash" in sql:
            row = self._by_hash.get(args[0])
            return row and {**row, "token_hash": args[0]}
        return None

    async def fetch(self, sql: str, *args: Any) -> list:
        if self.broken:
            raise RuntimeError("a bug deep in a query")
        return []

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return None


async def _requests(app, pool: FakePool) -> list[int]:
    statuses = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        def auth(kind: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {TOKENS[kind]}"}

        calls = [
            ("GET", "/permits", auth("operator"), None),  # 200
            ("GET", "/inbox", auth("operator"), None),  # 403, a security event naming the principal
            ("GET", "/applications/BB-2026-000001", auth("enterprise"), None),  # 404
            ("GET", "/permits?district=tianhe", auth("district"), None),  # 403 another district
            ("GET", "/permits", auth("revoked"), None),  # 401 unknown token
            ("GET", "/permits", {"Authorization": f"Basic {TOKENS['operator']}"}, None),  # 401 wrong scheme
            ("POST", "/tasks/BB-2026-000001/decide/decision", auth("district"), {"approve": True}),  # 404
            ("POST", "/applications", auth("enterprise") | {"Idempotency-Key": "k 1"}, {"x": 1}),  # 400 bad key
        ]
        for method, path, headers, body in calls:
            r = await http.request(method, path, headers=headers, json=body)
            statuses.append(r.status_code)
        pool.broken = True  # an unhandled error: logged with its traceback
        r = await http.get("/permits", headers=auth("operator"))
        statuses.append(r.status_code)
        pool.broken = False
    return statuses


@pytest.fixture
def captured_logs(capsys) -> Iterator[callable]:
    """The production logging set-up (bunker/logs.py), writing to captured stderr; the stdlib root logger
    (uvicorn, temporalio, asyncpg) at DEBUG into the same capture."""
    from bunker import logs

    saved = structlog.get_config()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def configure(fmt: str) -> None:
        logs.configure(fmt, "debug")  # binds structlog to sys.stderr, which capsys has replaced

    try:
        yield configure, lambda: capsys.readouterr().err + stream.getvalue()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        structlog.configure(**saved)


async def _run_through_gateway(fmt: str, captured_logs) -> tuple[list[int], str]:
    from bunker.settings import Settings
    from gateway.app import Resources, create_app

    configure, read = captured_logs
    configure(fmt)
    pool = FakePool()
    statuses = await _requests(create_app(Resources(settings=Settings(), pool=pool)), pool)
    return statuses, read()


def _assert_no_token(text: str) -> None:
    for kind, token in TOKENS.items():
        secret = token.removeprefix("bbk_")
        assert secret not in text, f"the {kind} token appears in the logs:\n" + "\n".join(
            line for line in text.splitlines() if secret[:16] in line)
        # nor split across a wrapped line (rich wraps long strings)
        assert secret[-16:] not in text, f"part of the {kind} token appears in the logs"


async def test_tokens_never_reach_the_logs_json(captured_logs):
    statuses, text = await _run_through_gateway("json", captured_logs)
    assert statuses == [200, 403, 404, 403, 401, 401, 404, 400, 500], statuses
    assert "access refused" in text and "unhandled error" in text and "Traceback" in text  # the logs were captured
    _assert_no_token(text)


async def test_tokens_never_reach_the_logs_console(captured_logs):
    """Console logs (a terminal under `make dev`) render tracebacks with rich: without frame locals, since the
    ASGI scope of the middleware frames holds the Authorization header (fixed in 013a5b1)."""
    statuses, text = await _run_through_gateway("console", captured_logs)
    assert statuses[-1] == 500 and "unhandled error" in text
    _assert_no_token(text)
