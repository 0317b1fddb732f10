"""Alembic is the only DDL path: it runs down and up cleanly and matches the models."""

import asyncio

from sqlalchemy import text

from db import engine as db_engine
from db import migrate, models


async def _tables(url: str) -> set[str]:
    eng = db_engine.create_engine(url, pool_size=1)
    try:
        async with eng.connect() as conn:
            rows = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return {row[0] for row in rows}
    finally:
        await eng.dispose()


def test_migrations_run_up_down_and_up_again(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database()
    model_tables = {t.name for t in models.Base.metadata.sorted_tables}

    migrate.upgrade(url)
    assert asyncio.run(_tables(url)) == model_tables | {"alembic_version"}
    migrate.downgrade(url, "base")
    assert asyncio.run(_tables(url)) == {"alembic_version"}
    migrate.upgrade(url)
    assert asyncio.run(_tables(url)) == model_tables | {"alembic_version"}


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    migrate.check(database_url)
