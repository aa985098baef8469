"""modes for tenant settings, approval that holds, deployment aggregator refs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:10:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _aggregator_key_table(*, per_mode: bool) -> None:
    columns = [
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('aggregator', sa.String(length=32), nullable=False),
        sa.Column('api_key_enc', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    ]
    unique = ('tenant_id', 'aggregator')
    if per_mode:
        columns.append(sa.Column('is_test', sa.Boolean(), server_default='0', nullable=False))
        unique = ('tenant_id', 'is_test', 'aggregator')
    op.create_table(
        'aggregator_key',
        *columns,
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(*unique),
    )


def _rebuild_aggregator_key(*, per_mode: bool) -> None:
    # The unique constraint gains the mode. SQLite's copy of it has no name to drop, so the
    # (small) table is rebuilt; the keys there were set by live and sandbox keys alike, and
    # are kept as live keys (a sandbox key sets its own again).
    bind = op.get_bind()
    rows = bind.execute(
        sa.text('SELECT id, tenant_id, aggregator, api_key_enc, created_at FROM aggregator_key')
    ).mappings().all()
    op.drop_table('aggregator_key')
    _aggregator_key_table(per_mode=per_mode)
    table = sa.table(
        'aggregator_key',
        sa.column('id'),
        sa.column('tenant_id'),
        sa.column('aggregator'),
        sa.column('api_key_enc'),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    if rows:
        op.bulk_insert(table, [dict(row) for row in rows])


def upgrade() -> None:
    _rebuild_aggregator_key(per_mode=True)
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sandbox_aggregator_platforms', sa.JSON(), server_default='[]', nullable=False)
        )
        batch_op.add_column(
            sa.Column('allow_self_approval', sa.Boolean(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('media_fingerprints', sa.JSON(), server_default='{}', nullable=False)
        )
    op.create_table(
        'deployment_aggregator_ref',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('aggregator', sa.String(length=32), nullable=False),
        sa.Column('ref', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'aggregator'),
    )
    with op.batch_alter_table('deployment_aggregator_ref', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_deployment_aggregator_ref_tenant_id'), ['tenant_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('deployment_aggregator_ref', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_aggregator_ref_tenant_id'))
    op.drop_table('deployment_aggregator_ref')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_column('media_fingerprints')
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('allow_self_approval')
        batch_op.drop_column('sandbox_aggregator_platforms')
    # Only the live keys survive: two modes' keys for one aggregator would not fit.
    op.execute(sa.text('DELETE FROM aggregator_key WHERE is_test = :yes').bindparams(yes=True))
    _rebuild_aggregator_key(per_mode=False)
