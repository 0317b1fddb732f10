"""When a badge rule starts owing awards: a rule created (by the API or an import) without a
backfill awards what learners earn from then on; a completed backfill makes it owe
everything since the start (null). `recompute --check` reports a missing award only when
the rule owed it. Existing rules owe everything (null), as they were checked before.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("badge_rule", sa.Column("awards_from", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("badge_rule", "awards_from")
