"""notifications carry their mode, for the inbox GET /v1/notifications

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-14 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_test', sa.Boolean(), nullable=True))
    # A row about a post takes the post's mode. The others (an account connected,
    # disconnected or expired, a webhook disabled) name no row to take it from: they are kept
    # as live, so a sandbox key never sees an old row that may be a live account's.
    op.execute(
        sa.text(
            'UPDATE notification SET is_test = COALESCE('
            '(SELECT post.is_test FROM post WHERE post.id = notification.post_id), :live)'
        ).bindparams(live=False)
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('is_test', existing_type=sa.Boolean(), nullable=False)
        batch_op.create_index(
            'ix_notification_inbox', ['tenant_id', 'is_test', 'created_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_inbox')
        batch_op.drop_column('is_test')
