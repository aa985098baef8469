"""Projects: a tenant's clients or brands, each with its own accounts, posts, webhooks and
review links (seed 001). List, create, rename and delete them; every tenant has a default
project per mode, where rows go when no project is named (and where data older than projects
moved, migration 0020)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import ManagerDep, SessionDep, ViewerDep
from api.errors import ApiError
from api.schemas import Envelope, ListEnvelope, ListMeta, Strict
from api.services.projects import (
    commit_named,
    create_named_project,
    load_project,
    projects_of,
    refuse_taken_name,
)
from core.db import utcnow
from core.models import Account, Post, Project, Target, WebhookEndpoint
from core.status import AccountStatus, TargetStatus

router = APIRouter(prefix="/v1/projects", tags=["projects"])

# Surrounding blanks are dropped, so " Acme" and "Acme" are one name.
ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# A post still on its way to a platform: deleting its project would strand it.
IN_FLIGHT = (TargetStatus.AWAITING_APPROVAL, TargetStatus.SCHEDULED, TargetStatus.PUBLISHING)


class ProjectCreate(Strict):
    name: ProjectName = Field(description="Unique among the tenant's projects in this mode.")
    facebook_auto_publish: bool = Field(
        default=False,
        description="Facebook targets that ask for no mode publish; off (seed 003's default), "
        "they are saved as unpublished Page posts",
    )


class ProjectUpdate(Strict):
    name: ProjectName | None = None
    facebook_auto_publish: bool | None = Field(
        default=None,
        description="Facebook targets that ask for no mode publish (true) or are saved as "
        "unpublished Page posts (false, seed 003's default)",
    )


class ProjectPublic(BaseModel):
    id: str
    name: str
    is_default: bool = Field(
        description="Where rows go when no project is named; it cannot be deleted."
    )
    is_test: bool = Field(description="A sandbox project (sk_test_ keys); live keys never see it.")
    facebook_auto_publish: bool = Field(
        description="Facebook targets without a mode publish; false: they are drafts (seed 003)"
    )
    accounts: int = Field(description="Its accounts, disconnected ones included.")
    posts: int = Field(description="Its posts, deleted ones left out.")
    created_at: datetime


async def _counts(
    session: AsyncSession, projects: Sequence[Project]
) -> tuple[dict[str, int], dict[str, int]]:
    """Accounts and posts per project: two grouped counts, however many projects are listed."""
    ids = [p.id for p in projects]
    accounts = await session.exec(
        select(Account.project_id, func.count())
        .where(col(Account.project_id).in_(ids))
        .group_by(col(Account.project_id))
    )
    posts = await session.exec(
        select(Post.project_id, func.count())
        .where(col(Post.project_id).in_(ids), col(Post.deleted_at).is_(None))
        .group_by(col(Post.project_id))
    )
    return dict(accounts.all()), dict(posts.all())


async def _views(session: AsyncSession, projects: Sequence[Project]) -> list[ProjectPublic]:
    accounts, posts = await _counts(session, projects)
    return [
        ProjectPublic(
            id=p.id,
            name=p.name,
            is_default=p.is_default,
            is_test=p.is_test,
            facebook_auto_publish=p.facebook_auto_publish,
            accounts=accounts.get(p.id, 0),
            posts=posts.get(p.id, 0),
            created_at=p.created_at,
        )
        for p in projects
    ]


async def _view(session: AsyncSession, project: Project) -> ProjectPublic:
    return (await _views(session, [project]))[0]


@router.get("", response_model=ListEnvelope[ProjectPublic])
async def list_projects(caller: ViewerDep, session: SessionDep) -> ListEnvelope[ProjectPublic]:
    """The projects of the key's tenant in its mode that the key reaches, the default first,
    then by name."""
    projects = await projects_of(session=session, caller=caller)
    return ListEnvelope(data=await _views(session, projects), meta=ListMeta(count=len(projects)))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ProjectPublic])
async def create_project(
    payload: ProjectCreate, caller: ManagerDep, session: SessionDep
) -> Envelope[ProjectPublic]:
    """A new project in the key's mode. A key limited to projects cannot make one: the new
    project would be outside its own reach."""
    project = await create_named_project(
        session=session,
        caller=caller,
        name=payload.name,
        facebook_auto_publish=payload.facebook_auto_publish,
    )
    return Envelope(data=await _view(session, project))


@router.get("/{project_id}", response_model=Envelope[ProjectPublic])
async def get_project(
    project_id: str, caller: ViewerDep, session: SessionDep
) -> Envelope[ProjectPublic]:
    return Envelope(
        data=await _view(
            session, await load_project(session=session, caller=caller, project_id=project_id)
        )
    )


@router.patch("/{project_id}", response_model=Envelope[ProjectPublic])
async def update_project(
    project_id: str, payload: ProjectUpdate, caller: ManagerDep, session: SessionDep
) -> Envelope[ProjectPublic]:
    """Rename it (the default project may be renamed too: it stays the default), or opt in
    or out of Facebook auto-publishing."""
    project = await load_project(session=session, caller=caller, project_id=project_id)
    if payload.facebook_auto_publish is not None:
        project.facebook_auto_publish = payload.facebook_auto_publish
        session.add(project)
        await session.commit()
    if payload.name is not None and payload.name != project.name:
        await refuse_taken_name(
            session=session, caller=caller, name=payload.name, besides=project.id
        )
        project.name = payload.name
        session.add(project)
        await commit_named(session=session, caller=caller, name=payload.name)
        await session.refresh(project)
    return Envelope(data=await _view(session, project))


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(project_id: str, caller: ManagerDep, session: SessionDep) -> Response:
    """Only an empty-handed project: not the default, and with no connected account, no post
    on its way and no webhook endpoint. Its published posts and disconnected accounts stay in
    the database; the project is no longer listed and its name is free again."""
    project = await load_project(session=session, caller=caller, project_id=project_id)
    if project.is_default:
        raise ApiError(
            409,
            "conflict",
            "the default project cannot be deleted: rows go there when no project is named; "
            "rename it instead",
        )
    held = await _what_it_holds(session, project)
    if held:
        raise ApiError(
            409,
            "conflict",
            f"project {project.name!r} still has {', '.join(what for what, _ in held)}: "
            + "; ".join(todo for _, todo in held)
            + "; then delete it",
        )
    now = utcnow()
    project.deleted_at = now
    # The unique (tenant, mode, name) would keep the name taken by a project nobody sees.
    project.name = f"{project.name[:150]} (deleted {project.id})"
    session.add(project)
    await session.commit()
    return Response(status_code=204)


async def _what_it_holds(session: AsyncSession, project: Project) -> list[tuple[str, str]]:
    accounts = (
        await session.exec(
            select(func.count()).where(
                Account.project_id == project.id, Account.status != AccountStatus.DISCONNECTED
            )
        )
    ).one()
    posts = (
        await session.exec(
            select(func.count(func.distinct(Target.post_id)))
            .join(Post, col(Post.id) == col(Target.post_id))
            .where(
                Post.project_id == project.id,
                col(Post.deleted_at).is_(None),
                col(Target.status).in_(IN_FLIGHT),
            )
        )
    ).one()
    webhooks = (
        await session.exec(
            select(func.count()).where(
                WebhookEndpoint.project_id == project.id, col(WebhookEndpoint.deleted_at).is_(None)
            )
        )
    ).one()
    # What it holds, each with what to do about it.
    held: list[tuple[str, str]] = []
    if accounts:
        held.append(
            (
                f"{accounts} connected account(s)",
                "disconnect its accounts (DELETE /v1/accounts/{id})",
            )
        )
    if posts:
        held.append(
            (
                f"{posts} post(s) awaiting approval, scheduled or publishing",
                "cancel them (POST /v1/posts/{id}/cancel) or let them finish",
            )
        )
    if webhooks:
        held.append(
            (
                f"{webhooks} webhook endpoint(s)",
                "delete its webhook endpoints (DELETE /v1/webhooks/{id})",
            )
        )
    return held
