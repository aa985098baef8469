"""media alt text beside the media URLs of posts and target overrides

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-12 10:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no backfill: an existing row has no alt text, which readers treat as None for
    # each of its media (core/media_alt.py).
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_alt', sa.JSON(), nullable=True))
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.add_column(sa.Column('override_media_alt', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_column('override_media_alt')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_column('media_alt')
