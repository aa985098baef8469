"""a tenant's retry policy, per mode

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no backfill: None is crier's default policy, which every tenant had.
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_policy', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sandbox_retry_policy', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('sandbox_retry_policy')
        batch_op.drop_column('retry_policy')
