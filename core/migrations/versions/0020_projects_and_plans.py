"""projects inside a tenant, and plans

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 01:30:00.000000

Every tenant gets a default project in each mode, and its accounts, connections, posts and
review links move into the one of their mode. Plans replace the tenant's own publishing flag:
`free` (publishing off, as the seed says every plan starts) and `publishing` (on, no limits),
which tenants that had the flag on move to.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects 0001's unnamed unique constraint without a name: this names it for the drop.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    plan = op.create_table(
        'plan',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('allow_social_publishing', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('max_accounts', sa.Integer(), nullable=True),
        sa.Column('max_posts_per_month', sa.Integer(), nullable=True),
        sa.Column('platforms', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(
        plan,
        [
            {'id': 'free', 'name': 'Free', 'allow_social_publishing': False,
             'created_at': now, 'updated_at': now},
            {'id': 'publishing', 'name': 'Publishing', 'allow_social_publishing': True,
             'created_at': now, 'updated_at': now},
        ],
    )
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('plan_id', sa.String(length=40), server_default='free', nullable=False)
        )
        batch_op.create_foreign_key('fk_tenant_plan_id_plan', 'plan', ['plan_id'], ['id'])
    bind.execute(
        sa.text("UPDATE tenant SET plan_id = 'publishing' WHERE allow_social_publishing = :on"),
        {'on': True},
    )
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('allow_social_publishing')

    project = op.create_table(
        'project',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('is_test', sa.Boolean(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'is_test', 'name'),
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_tenant_id'), ['tenant_id'], unique=False)
    tenants = [row[0] for row in bind.execute(sa.text('SELECT id FROM tenant'))]
    defaults = [
        {'id': str(uuid.uuid4()), 'tenant_id': tenant, 'is_test': is_test, 'name': 'Default',
         'is_default': True, 'created_at': now}
        for tenant in tenants
        for is_test in (False, True)
    ]
    if defaults:
        op.bulk_insert(project, defaults)

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('project_ids', sa.JSON(), server_default='[]', nullable=False)
        )

    # Each table's rows move into their tenant's default project of their mode.
    for table, mode in (
        ('account', 'is_sandbox'),
        ('connection', 'is_sandbox'),
        ('post', 'is_test'),
        ('review_link', 'is_test'),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('project_id', sa.String(length=36), nullable=True))
        bind.execute(
            sa.text(
                f'UPDATE {table} SET project_id = (SELECT project.id FROM project '
                f'WHERE project.tenant_id = {table}.tenant_id AND project.is_test = {table}.{mode} '
                'AND project.is_default = :on)'
            ),
            {'on': True},
        )
    with op.batch_alter_table('account', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_constraint(_account_unique(bind), type_='unique')
        batch_op.create_unique_constraint(
            'uq_account_project', ['project_id', 'platform', 'external_id', 'is_sandbox']
        )
        batch_op.create_index(batch_op.f('ix_account_project_id'), ['project_id'], unique=False)
        batch_op.create_foreign_key('fk_account_project_id_project', 'project', ['project_id'], ['id'])
    with op.batch_alter_table('connection', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_foreign_key(
            'fk_connection_project_id_project', 'project', ['project_id'], ['id']
        )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_index(batch_op.f('ix_post_project_id'), ['project_id'], unique=False)
        batch_op.create_foreign_key('fk_post_project_id_project', 'project', ['project_id'], ['id'])
    with op.batch_alter_table('review_link', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_foreign_key(
            'fk_review_link_project_id_project', 'project', ['project_id'], ['id']
        )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            'fk_webhook_endpoint_project_id_project', 'project', ['project_id'], ['id']
        )


def _account_unique(bind: sa.engine.Connection) -> str:
    """0001's unique constraint on accounts: PostgreSQL named it itself; SQLite left it unnamed
    (NAMING names it for the batch), unless a downgrade of this migration made it again."""
    for found in sa.inspect(bind).get_unique_constraints('account'):
        if found['column_names'] == ['tenant_id', 'platform', 'external_id', 'is_sandbox']:
            return str(found['name'] or 'uq_account_tenant_id')
    raise RuntimeError('the accounts unique constraint of migration 0001 is missing')


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_constraint('fk_webhook_endpoint_project_id_project', type_='foreignkey')
        batch_op.drop_column('project_id')
    with op.batch_alter_table('review_link', schema=None) as batch_op:
        batch_op.drop_constraint('fk_review_link_project_id_project', type_='foreignkey')
        batch_op.drop_column('project_id')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_constraint('fk_post_project_id_project', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_post_project_id'))
        batch_op.drop_column('project_id')
    with op.batch_alter_table('connection', schema=None) as batch_op:
        batch_op.drop_constraint('fk_connection_project_id_project', type_='foreignkey')
        batch_op.drop_column('project_id')
    # Two projects' copies of one account cannot share the old per-tenant constraint: only the
    # default project's accounts survive a downgrade.
    op.execute(
        'DELETE FROM account WHERE project_id NOT IN (SELECT id FROM project WHERE is_default)'
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint('fk_account_project_id_project', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_account_project_id'))
        batch_op.drop_constraint('uq_account_project', type_='unique')
        # The name PostgreSQL gave 0001's unnamed constraint, which 0020's upgrade looks for.
        batch_op.create_unique_constraint(
            'account_tenant_id_platform_external_id_is_sandbox_key',
            ['tenant_id', 'platform', 'external_id', 'is_sandbox'],
        )
        batch_op.drop_column('project_id')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('project_ids')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_tenant_id'))
    op.drop_table('project')
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('allow_social_publishing', sa.Boolean(), server_default='0', nullable=False)
        )
    op.execute(
        'UPDATE tenant SET allow_social_publishing = (SELECT plan.allow_social_publishing '
        'FROM plan WHERE plan.id = tenant.plan_id)'
    )
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tenant_plan_id_plan', type_='foreignkey')
        batch_op.drop_column('plan_id')
    op.drop_table('plan')
