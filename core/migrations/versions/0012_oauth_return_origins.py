"""oauth return origins

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:10:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Origins a tenant registered, per mode, for OAuth's return_to. Empty at first: a connect
    # with return_to is refused until its origin is registered.
    op.create_table('return_origin',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'is_test', 'origin')
    )


def downgrade() -> None:
    op.drop_table('return_origin')
