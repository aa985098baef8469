"""Reading posts, targets and accounts within the caller's tenant and mode: a sandbox key never
reaches a live post, nor a live key a sandbox one (each is 404, as another tenant's would be)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from api.deps import Caller
from api.errors import ApiError
from core.models import Account, Post, Target

# Any query that can be narrowed: of one table, or of a table joined with another.
Query = TypeVar("Query", SelectOfScalar[Any], Select[Any], Select[Any, Any])


async def load_post(session: AsyncSession, caller: Caller, post_id: str) -> Post:
    post = await session.get(Post, post_id)
    if (
        post is None
        or post.tenant_id != caller.tenant_id
        or post.is_test != caller.is_test
        or post.deleted_at is not None
        or not caller.reaches(post.project_id)
    ):
        raise ApiError(404, "not_found", f"no post {post_id}")
    return post


async def page_of_posts(
    session: AsyncSession,
    caller: Caller,
    *,
    statuses: Collection[str] | None,
    search: str | None,
    limit: int,
    offset: int,
    project_id: str | None = None,
) -> tuple[list[Post], int]:
    """The caller's posts, newest first, in any of `statuses` (None: all) with `search` in the
    body, in `project_id` (None: every project the caller reaches); one page of them and how
    many there are in all."""
    query = within_projects(
        select(Post).where(
            Post.tenant_id == caller.tenant_id,
            col(Post.deleted_at).is_(None),
            Post.is_test == caller.is_test,
        ),
        col(Post.project_id),
        caller,
        project_id,
    )
    if statuses is not None:
        query = query.where(col(Post.status).in_(list(statuses)))
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(Post.body).ilike(f"%{escaped}%", escape="\\"))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    page = await session.exec(
        query.order_by(col(Post.created_at).desc(), col(Post.id)).limit(limit).offset(offset)
    )
    return list(page.all()), total


async def targets_of(session: AsyncSession, post_id: str) -> list[Target]:
    # populate_existing: the workflows' activities write targets from other sessions.
    rows = await session.exec(
        select(Target)
        .where(Target.post_id == post_id)
        .order_by(col(Target.created_at))
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def load_target(session: AsyncSession, caller: Caller, target_id: str) -> Target:
    target = await session.get(Target, target_id)
    if target is None or target.tenant_id != caller.tenant_id:
        raise ApiError(404, "not_found", f"no target {target_id}")
    post = await session.get(Post, target.post_id)
    if (
        post is None
        or post.deleted_at is not None
        or post.is_test != caller.is_test
        or not caller.reaches(post.project_id)
    ):
        raise ApiError(404, "not_found", f"no target {target_id}")
    return target


async def load_account(session: AsyncSession, caller: Caller, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if (
        account is None
        or account.tenant_id != caller.tenant_id
        or account.is_sandbox != caller.is_test
        or not caller.reaches(account.project_id)
    ):
        raise ApiError(404, "not_found", f"no account {account_id}")
    return account


async def accounts_of(
    session: AsyncSession, caller: Caller, project_id: str | None = None
) -> list[Account]:
    """The caller's accounts in its own mode, oldest first: a sandbox key sees the sandbox
    accounts, a live key the live ones; they never mix. `project_id`: that project's only."""
    query = select(Account).where(
        Account.tenant_id == caller.tenant_id, Account.is_sandbox == caller.is_test
    )
    query = within_projects(query, col(Account.project_id), caller, project_id)
    rows = await session.exec(query.order_by(col(Account.created_at)))
    return list(rows.all())


def within_projects(query: Query, column: Any, caller: Caller, project_id: str | None) -> Query:
    """`query` narrowed to `project_id` (a project the caller does not reach matches nothing,
    as another tenant's would) and to the caller's projects when its key is limited."""
    if project_id is not None:
        query = query.where(column == project_id)
    if caller.project_ids is not None:
        query = query.where(column.in_(sorted(caller.project_ids)))
    return query
