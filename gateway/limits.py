"""Request bodies over a limit get 413 before the app reads them: by Content-Length when declared, and by
counting the bytes actually received (a chunked upload declares nothing).

One limit for every route, except the few named in `LARGE_BODIES` (a ledger batch of 50,000 rows is
about 20 MB of JSON); a route not named there cannot be sent more than `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import error_response

MAX_BODY_BYTES = 1 << 20  # 1 MiB: an application with its documents is a few kilobytes
LEDGER_BATCH_MAX_BYTES = 32 << 20  # 32 MiB: 50,000 ledger rows (Art. 17) with room to spare

# (method, path pattern, limit): the routes allowed more than MAX_BODY_BYTES.
LARGE_BODIES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("POST", re.compile(r"^/permits/[^/]+/ledger/batches$"), LEDGER_BATCH_MAX_BYTES),
)


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 large: Sequence[tuple[str, re.Pattern[str], int]] = LARGE_BODIES) -> None:
        self.app, self.max_bytes, self.large = app, max_bytes, tuple(large)

    def limit(self, scope: Scope) -> int:
        for method, pattern, max_bytes in self.large:
            if scope["method"] == method and pattern.match(scope["path"]):
                return max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, receive, send, limit)

        received, over, answered = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app makes of the interrupted read (FastAPI turns it into a 400), the answer is 413.
            nonlocal answered
            if not over:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await self._refuse(scope, receive, send, limit)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if over and not answered:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, "payload_too_large", f"the request body is over {limit} bytes",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)
