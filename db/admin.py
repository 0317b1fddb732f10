"""Creating and dropping whole databases on a server (tests, ``serve`` on a fresh server)."""

import asyncpg

from db import engine


def _asyncpg_dsn(database_url: str, database: str | None = None) -> str:
    url = engine.async_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def create_database(database_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``database_url``; return the new URL."""
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return engine.async_url(database_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(database_url: str, name: str) -> None:
    """Drop database ``name`` (and its open connections) on the server of ``database_url``."""
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
