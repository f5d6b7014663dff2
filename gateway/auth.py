"""Who is calling: `Authorization: Bearer bbk_…` → a principal (store/principals.py) → an Actor.

Unknown or revoked tokens get 401. Every refusal (401, 403, and an enterprise's 404 for a file that is
not its own) is logged as a security event with the principal, the path and the reason; the token
itself never reaches a log line.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway import deps
from gateway.errors import ApiError
from store import principals
from store.principals import Kind, Principal

log = structlog.get_logger()

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer",
    description="A principal's token (`bunker principals add …` prints it once; `bunker dev` writes dev tokens "
                "to `.data/dev-tokens.json`).",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def refused(request: Request, who: Principal | None, reason: str, *, status: int = 403,
            code: str = "forbidden", message: str | None = None) -> ApiError:
    """Log a refusal as a security event and build its answer (`message` defaults to the reason)."""
    log.warning(
        "access refused", security=True, status=status, reason=reason, method=request.method,
        path=request.url.path, principal_id=who.id if who else None, principal=who.code if who else None,
    )
    return ApiError(status, code, message or reason, headers=_CHALLENGE if status == 401 else None)


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None:
        raise refused(request, None, "no bearer token", status=401, code="unauthenticated",
                      message="a bearer token is required (Authorization: Bearer …)")
    who = await principals.by_token(deps.pool(request), credentials.credentials)
    if who is None:
        raise refused(request, None, "unknown or revoked token", status=401, code="unauthenticated")
    return who


Caller = Annotated[Principal, Depends(principal)]


def require_kind(request: Request, who: Principal, *kinds: Kind, what: str) -> None:
    if who.kind not in kinds:
        raise refused(request, who, f"{who.code} may not {what}: only {' or '.join(kinds)} principals may")
