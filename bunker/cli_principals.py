"""`bunker principals`: who may call the gateway, and their bearer tokens (shown once, stored as hashes)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

principals_app = typer.Typer(help="Callers of the gateway: agencies, enterprises, operators.", no_args_is_help=True)


def _cli():
    # bunker.cli registers this sub-app, so it is imported lazily here, never at module level.
    from bunker import cli

    return cli


@principals_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="agency, enterprise or operator")],
    name: Annotated[str, typer.Option(help="the system or officer, for the record (e.g. '南沙区政务系统')")],
    body: Annotated[str | None, typer.Option(help="agency: its body code (commerce, customs_gz, district, …)")] = None,
    district: Annotated[str | None, typer.Option(help="district government: its district (nansha, tianhe, …)")] = None,
    credit_code: Annotated[str | None, typer.Option(help="enterprise: its unified social credit code")] = None,
) -> None:
    """Create a principal and print its token once: store it in the caller's system, it is not shown again."""
    from store import principals

    cli = _cli()
    try:
        principals.identity(kind, body, district, credit_code)
    except principals.InvalidPrincipal as e:
        cli.err.print(f"error: {e}")
        raise typer.Exit(2) from None

    async def go():
        async with cli.database(cli.settings()) as pool:
            return await principals.add(pool, kind, name=name, body=body, district=district, credit_code=credit_code)

    p, token = cli.run(go())
    cli.out.print(f"principal {p.id}: {p.kind} {p.code} ({p.name})", highlight=False)
    cli.out.print("token (shown once, store it now):", highlight=False)
    print(token)


@principals_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    revoked: Annotated[bool, typer.Option("--revoked", help="include revoked principals")] = False,
) -> None:
    """Principals with what they may act as (never their tokens)."""
    from store import principals

    cli = _cli()

    async def go():
        async with cli.database(cli.settings()) as pool:
            return await principals.list_all(pool, include_revoked=revoked)

    rows = cli.run(go())
    if as_json:
        print(json.dumps([{"id": p.id, "kind": p.kind, "actor": p.code, "body": p.body.value,
                           "district": p.district.value if p.district else None, "credit_code": p.credit_code,
                           "name": p.name, "created_at": p.created_at.isoformat(),
                           "revoked_at": p.revoked_at.isoformat() if p.revoked_at else None} for p in rows],
                         ensure_ascii=False))
        return
    table = Table("id", "kind")
    table.add_column("acts as", no_wrap=True)  # the code tasks and events carry: never broken
    table.add_column("name", overflow="fold")
    table.add_column("created (UTC)")
    if revoked:
        table.add_column("revoked (UTC)")
    for p in rows:
        cells = [str(p.id), p.kind, p.code, p.name, f"{p.created_at:%Y-%m-%d}"]
        table.add_row(*cells, *([f"{p.revoked_at:%Y-%m-%d %H:%M}" if p.revoked_at else ""] if revoked else []))
    cli.out.print(table)


@principals_app.command("revoke")
def revoke(principal_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a principal: its token is refused (401) from the next request on."""
    from store import principals

    cli = _cli()

    async def go():
        async with cli.database(cli.settings()) as pool:
            return await principals.revoke(pool, principal_id)

    p = cli.run(go())
    if p is None:
        cli.err.print(f"error: no principal {principal_id}")
        raise typer.Exit(1)
    cli.out.print(f"revoked principal {p.id} ({p.code}, {p.name}) at {p.revoked_at:%Y-%m-%d %H:%M} UTC", highlight=False)
