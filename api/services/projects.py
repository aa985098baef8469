"""Which project a call is about: the one it names (within the caller's tenant, mode and the
key's projects), or the key's only project, or the tenant's default project in its mode."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from core.models import Project
from core.projects import default_project


async def load_project(*, session: AsyncSession, caller: Caller, project_id: str) -> Project:
    """The caller's project: 404 for another tenant's, another mode's, a deleted one, or one
    the key is not limited to (as another tenant's would be)."""
    project = await session.get(Project, project_id)
    if (
        project is None
        or project.tenant_id != caller.tenant_id
        or project.is_test != caller.is_test
        or project.deleted_at is not None
        or not caller.reaches(project.id)
    ):
        raise ApiError(404, "not_found", f"no project {project_id}")
    return project


async def chosen_project(
    *, session: AsyncSession, caller: Caller, project_id: str | None, field: str = "project_id"
) -> Project:
    """The project a write goes to when the caller may or may not name one."""
    if project_id is not None:
        return await load_project(session=session, caller=caller, project_id=project_id)
    if caller.project_ids is not None:
        if len(caller.project_ids) == 1:
            return await load_project(
                session=session, caller=caller, project_id=next(iter(caller.project_ids))
            )
        raise ApiError(
            422,
            "validation_error",
            "this key reaches several projects: name one",
            [problem(["body", field], "required for a key limited to several projects")],
        )
    return await default_project(session, caller.tenant_id, caller.is_test)


async def projects_of(*, session: AsyncSession, caller: Caller) -> list[Project]:
    """The caller's projects in its mode, the default first, then by name."""
    query = select(Project).where(
        Project.tenant_id == caller.tenant_id,
        Project.is_test == caller.is_test,
        col(Project.deleted_at).is_(None),
    )
    if caller.project_ids is not None:
        query = query.where(col(Project.id).in_(sorted(caller.project_ids)))
    rows = await session.exec(query.order_by(col(Project.is_default).desc(), col(Project.name)))
    found = list(rows.all())
    if caller.project_ids is None and not any(p.is_default for p in found):
        found.insert(0, await default_project(session, caller.tenant_id, caller.is_test))
    return found


def one_project_of(project_ids: Iterable[str]) -> str | None:
    """The one project all of these rows share; None when they are in several (or none)."""
    distinct = set(project_ids)
    return distinct.pop() if len(distinct) == 1 else None


async def create_named_project(
    *, session: AsyncSession, caller: Caller, name: str, facebook_auto_publish: bool = False
) -> Project:
    """A new project in the caller's mode, named `name` (unique in the tenant and mode: 409).
    A key limited to projects may not make one: it would be outside the key's own reach."""
    if caller.project_ids is not None:
        raise ApiError(
            403,
            "forbidden",
            "this API key is limited to projects: creating a project needs a key for every "
            "project (a new one would be outside this key's reach)",
        )
    # Made first, so a tenant's first project is never its only, non-default one.
    await default_project(session, caller.tenant_id, caller.is_test)
    await refuse_taken_name(session=session, caller=caller, name=name)
    project = Project(
        tenant_id=caller.tenant_id,
        is_test=caller.is_test,
        name=name,
        facebook_auto_publish=facebook_auto_publish,
    )
    session.add(project)
    await commit_named(session=session, caller=caller, name=name)
    await session.refresh(project)
    return project


def _mode(caller: Caller) -> str:
    return "sandbox" if caller.is_test else "live"


async def refuse_taken_name(
    *, session: AsyncSession, caller: Caller, name: str, besides: str | None = None
) -> None:
    """409 when another project of the tenant and mode has the name (deleted ones free theirs)."""
    taken = (
        await session.exec(
            select(Project.id).where(
                Project.tenant_id == caller.tenant_id,
                Project.is_test == caller.is_test,
                Project.name == name,
                col(Project.id) != (besides or ""),
            )
        )
    ).first()
    if taken is not None:
        raise _name_conflict(caller, name)


def _name_conflict(caller: Caller, name: str) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"this tenant already has a project named {name!r} in {_mode(caller)} mode: "
        "choose another name, or use that project",
    )


async def commit_named(*, session: AsyncSession, caller: Caller, name: str) -> None:
    """Commit, telling a name taken by a request at the same time (the unique constraint) as
    the same 409 the check before gives."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _name_conflict(caller, name) from None
