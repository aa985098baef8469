"""A tenant's default project in each mode: where rows go when no project is named.

Made on first need (and by migration 0020 for the tenants that existed then), so creating a
tenant stays one insert wherever it happens (the CLI, the admin API, `crier dev`'s demo).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from core.models import Project

DEFAULT_PROJECT_NAME = "Default"


def _query(tenant_id: str, is_test: bool) -> SelectOfScalar[Project]:
    return select(Project).where(
        Project.tenant_id == tenant_id,
        Project.is_test == is_test,
        Project.is_default == True,  # noqa: E712  (SQL comparison)
    )


async def default_project(session: AsyncSession, tenant_id: str, is_test: bool) -> Project:
    """The tenant's default project in this mode, created and committed if it is missing.
    Call it before adding rows of one's own: losing the race to create it rolls back."""
    found = (await session.exec(_query(tenant_id, is_test))).first()
    if found is not None:
        return found
    made = Project(tenant_id=tenant_id, is_test=is_test, name=DEFAULT_PROJECT_NAME, is_default=True)
    session.add(made)
    # Two first requests at once: the unique (tenant, mode, name) lets one insert win, and the
    # other reads the winner's row.
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        found = (await session.exec(_query(tenant_id, is_test))).first()
        assert found is not None
        return found
    return made


def default_project_sync(session: Session, tenant_id: str, is_test: bool) -> Project:
    """The same, for the operator's commands and `crier dev`'s seed (sync sessions)."""
    found = session.exec(_query(tenant_id, is_test)).first()
    if found is not None:
        return found
    made = Project(tenant_id=tenant_id, is_test=is_test, name=DEFAULT_PROJECT_NAME, is_default=True)
    session.add(made)
    session.flush()
    return made
