"""NUL (U+0000) is refused at the edge: PostgreSQL `text` and `jsonb` cannot hold it, so a NUL that got
through would fail deep inside (a 500), or, in a workflow's input, later still.

Refused with 422 `invalid`, in the documented error shape:

- in the path or the query string (raw, or percent-encoded `%00`);
- in any request body the app reads: the JSON escape `\\u0000` (what a JSON client sends for NUL; JSON
  knows no other spelling of it, `\\U` is not an escape) or a raw 0x00 byte (no valid JSON has one). An
  escaped backslash followed by `u0000` (`\\\\u0000` in the JSON text, the six characters `\\u0000` once
  decoded) is text, not NUL: a backslash escapes the `u` only when it is preceded by an even number of
  backslashes.

The body is scanned as it streams in, chunk by chunk: a chunk without a backslash (all of a ledger batch,
as a rule) costs two memchr-speed searches and no copy; one with backslashes a `bytes.find` for the escape
and a count of the backslashes before each match. A 32 MiB ledger batch is scanned in a few tens of
milliseconds, against hundreds for parsing it (tests/unit/test_nul_scanner.py measures both). When a NUL is found,
the app's reading of the body is interrupted (the app never sees it) and the answer is the 422; for a
body up to `POINTER_BYTES` the error names the fields that hold a NUL (`body.enterprise.name`,
`body.tankers.0.name`, …; `body` when the text is not JSON).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import FieldError, error_response

ESCAPE = b"\\u0000"
_BACKSLASH = 0x5C
POINTER_BYTES = 1 << 20  # bodies up to this size are kept while scanned, to name the fields of a NUL
_FIELDS_SHOWN = 20
MESSAGE = "NUL characters (U+0000) are not accepted"


class NulScanner:
    """Finds NUL in a JSON text fed in pieces: `feed` returns True from the piece that holds one."""

    def __init__(self) -> None:
        self._carry = b""  # the last bytes fed, shorter than the escape: a match may straddle two pieces
        self._odd_before = False  # the run of backslashes ending just before `_carry` has odd length

    def feed(self, piece: bytes) -> bool:
        if not piece:
            return False
        if b"\x00" in piece:
            return True
        keep = len(ESCAPE) - 1
        if b"\\" not in piece and b"\\" not in self._carry:
            # The common case (a ledger batch has no backslash at all): no escape here, no run of
            # backslashes going on. Two memchr-speed searches, no copy.
            if len(self._carry) + len(piece) > keep:
                self._odd_before = False
                self._carry = piece[-keep:] if len(piece) >= keep else (self._carry + piece)[-keep:]
            else:
                self._carry += piece
            return False
        buf = self._carry + piece if self._carry else piece
        i = buf.find(ESCAPE)
        while i != -1:
            if self._escapes(buf, i):
                return True
            i = buf.find(ESCAPE, i + 1)
        head = len(buf) - min(len(buf), keep)
        if head:
            if buf[head - 1] == _BACKSLASH:
                run = head - len(buf[:head].rstrip(b"\\"))
                self._odd_before = bool(run % 2) if run < head else (run % 2 == 1) != self._odd_before
            else:
                self._odd_before = False
        self._carry = buf[head:]
        return False

    def _escapes(self, buf: bytes, i: int) -> bool:
        """The backslash at `i` starts an escape: the run of backslashes it ends has odd length."""
        j = i
        while j > 0 and buf[j - 1] == _BACKSLASH:
            j -= 1
        odd = (i - j) % 2 == 0  # the run is i - j + 1 long
        return odd != self._odd_before if j == 0 else odd


def contains_nul(body: bytes) -> bool:
    return NulScanner().feed(body)


def nul_fields(body: bytes, prefix: str = "body") -> list[str]:
    """Where the NULs of a JSON text are, as the dotted paths of the error's `fields` (keys included)."""
    try:
        value = json.loads(body)
    except ValueError:
        return [prefix]
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if len(found) >= _FIELDS_SHOWN:
            return
        if isinstance(node, str):
            if "\x00" in node:
                found.append(path)
        elif isinstance(node, dict):
            for k, v in node.items():
                if "\x00" in k:
                    found.append(f"{path}.{k!r}")
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for n, v in enumerate(node):
                walk(v, f"{path}.{n}")

    walk(value, prefix)
    return found or [prefix]


def _in_target(scope: Scope) -> bool:
    path = scope.get("path", "")
    raw = scope.get("raw_path") or b""
    query = scope.get("query_string") or b""
    return "\x00" in path or b"%00" in raw or b"%00" in query or b"\x00" in query


class _Found(Exception):
    pass


class RefuseNul:
    """ASGI middleware: 422 for a NUL in the path, the query or the body (see the module's docstring)."""

    def __init__(self, app: ASGIApp, pointer_bytes: int = POINTER_BYTES) -> None:
        self.app, self.pointer_bytes = app, pointer_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _in_target(scope):
            return await self._refuse(scope, receive, send, fields=[], close=False)

        scanner, kept, size = NulScanner(), [], 0
        found = more = False

        async def scanning_receive() -> Message:
            nonlocal found, more, size
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                more = message.get("more_body", False)
                size += len(body)
                if size <= self.pointer_bytes:
                    kept.append(body)
                if scanner.feed(body):
                    found = True
                    raise _Found
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app makes of the interrupted read (FastAPI: a 400), the answer is the 422 below.
            if not found:
                await send(message)

        try:
            await self.app(scope, scanning_receive, guarded_send)
        except _Found:
            pass
        if not found:
            return
        # The fields are named for a body kept whole (read to its end, within the size limit outside).
        while more and size <= self.pointer_bytes:
            message = await receive()
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            more, size = message.get("more_body", False), size + len(body)
            kept.append(body)
        whole = not more and size <= self.pointer_bytes
        fields = nul_fields(b"".join(kept)) if whole else ["body"]
        await self._refuse(scope, receive, send, fields=fields, close=more)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, fields: list[str], close: bool) -> None:
        errors = [FieldError(field=f, message="NUL (U+0000) is not allowed", type="nul_character") for f in fields]
        response = error_response(422, "invalid", MESSAGE, errors, headers={"Connection": "close"} if close else None)
        await response(scope, receive, send)
