"""posts' metrics and accounts' insights, as time series

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 02:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'post_metric',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('is_test', sa.Boolean(), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=False),
        sa.Column('post_id', sa.String(length=36), nullable=False),
        sa.Column('target_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('offset_label', sa.String(length=16), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['post_id'], ['post.id']),
        sa.ForeignKeyConstraint(['project_id'], ['project.id']),
        sa.ForeignKeyConstraint(['target_id'], ['target.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('target_id', 'offset_label'),
    )
    with op.batch_alter_table('post_metric', schema=None) as batch_op:
        batch_op.create_index(
            'ix_post_metric_account_time', ['account_id', 'collected_at'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_post_metric_post_id'), ['post_id'], unique=False)
    op.create_table(
        'account_insight',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('is_test', sa.Boolean(), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['project_id'], ['project.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'day'),
    )
    with op.batch_alter_table('account_insight', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_account_insight_account_id'), ['account_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('account_insight', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_insight_account_id'))
    op.drop_table('account_insight')
    with op.batch_alter_table('post_metric', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_metric_post_id'))
        batch_op.drop_index('ix_post_metric_account_time')
    op.drop_table('post_metric')
