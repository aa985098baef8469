"""parts after a post (thread replies, first comments), their attempts and live ids

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-13 10:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no backfill: an existing post has no parts; its attempts are all the post's
    # own (part 0).
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts', sa.JSON(), nullable=True))
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_cid', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('parts_published', sa.JSON(), nullable=True))
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('part')
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('parts_published')
        batch_op.drop_column('external_cid')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_column('parts')
