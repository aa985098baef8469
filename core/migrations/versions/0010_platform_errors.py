"""platform errors counted per target

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:10:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows start at 0: a delivery under way gets its full count of tries again.
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('platform_errors', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('platform_errors')
