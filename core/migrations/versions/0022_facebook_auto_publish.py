"""a project's Facebook auto-publish opt-in (seed 003)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 02:35:00.000000

Off for new projects; on for those that existed, whose Facebook targets had always published.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('facebook_auto_publish', sa.Boolean(), server_default='0', nullable=False)
        )
    op.get_bind().execute(
        sa.text('UPDATE project SET facebook_auto_publish = :on'), {'on': True}
    )


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('facebook_auto_publish')
