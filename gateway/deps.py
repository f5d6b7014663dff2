"""The servers a request uses, from the app's Resources (set in create_app, so tests need no lifespan)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from fastapi import Request
from temporalio.client import Client

from bunker.settings import Settings
from gateway.errors import unavailable

if TYPE_CHECKING:
    from gateway.app import Resources


def resources(request: Request) -> Resources:
    return request.app.state.resources


def settings(request: Request) -> Settings:
    return resources(request).settings


def pool(request: Request) -> asyncpg.Pool:
    p = resources(request).pool
    if p is None:
        raise unavailable("PostgreSQL")
    return p


def client(request: Request) -> Client:
    c = resources(request).client
    if c is None:
        raise unavailable("Temporal")
    return c
