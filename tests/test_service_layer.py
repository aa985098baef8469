"""One service layer: the routes and the pages call the keyword-only functions in api/services,
and no module calls a route handler (a handler's positional signature is FastAPI's to fill;
code that calls one breaks silently when a route gains a parameter)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import api.services

ROOT = Path(__file__).resolve().parent.parent
# Every package of crier itself. Not tests (they call handlers to test them), nor the sandbox
# (the platforms' stand-ins, whose routes are its own business and share nothing with crier's).
PACKAGES = ("api", "cli", "core", "activities", "workflows", "providers")
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(root: Path) -> dict[str, tuple[Path, ast.Module]]:
    found: dict[str, tuple[Path, ast.Module]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[_module_name(root, path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def _is_route(decorator: ast.expr) -> bool:
    """`@router.post(...)` and the like: a FastAPI path operation."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ROUTE_METHODS
    )


def route_handlers(sources: dict[str, tuple[Path, ast.Module]]) -> dict[str, set[str]]:
    """The route handlers each module defines, by module name."""
    handlers: dict[str, set[str]] = {}
    for module, (_, tree) in sources.items():
        names = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(_is_route(d) for d in node.decorator_list)
        }
        if names:
            handlers[module] = names
    return handlers


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def handler_uses(root: Path) -> list[str]:
    """Every place a module imports, calls or otherwise refers to a route handler, as
    "path:line: what"."""
    sources = _sources(root)
    handlers = route_handlers(sources)
    found: list[str] = []
    for module, (path, tree) in sources.items():
        where = path.relative_to(root)
        # Names bound in this module to a route module (`from api.routes import lifecycle`).
        route_modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, path.name == "__init__.py")
                for alias in node.names:
                    if alias.name in handlers.get(source, set()):
                        found.append(f"{where}:{node.lineno}: imports {source}.{alias.name}")
                    if f"{source}.{alias.name}" in handlers:
                        route_modules[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in handlers:
                        route_modules[alias.asname or alias.name] = alias.name
        own = handlers.get(module, set())
        for node in ast.walk(tree):
            # Within its own module only a call counts: a local variable may share the name.
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in own
            ):
                found.append(f"{where}:{node.lineno}: calls its own route handler {node.func.id}")
            elif isinstance(node, ast.Attribute):
                dotted = ast.unparse(node.value)
                target = route_modules.get(dotted) or (dotted if dotted in handlers else None)
                if target is not None and node.attr in handlers[target]:
                    found.append(f"{where}:{node.lineno}: uses {target}.{node.attr}")
    return found


def test_no_module_calls_a_route_handler() -> None:
    sources = _sources(ROOT)
    # The check looks at something: the routers' handlers are found.
    assert "publish_post" in route_handlers(sources).get("api.routes.lifecycle", set())
    assert handler_uses(ROOT) == []


def test_the_check_catches_each_way_of_reaching_a_handler(tmp_path: Path) -> None:
    """The check fails on the coupling it forbids: an imported handler, a handler reached
    through its module, and one handler calling another in its own module."""
    routes = tmp_path / "api" / "routes"
    ui = tmp_path / "api" / "ui"
    for folder in (routes, ui):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
    (tmp_path / "api" / "__init__.py").write_text("")
    (routes / "things.py").write_text(
        "from fastapi import APIRouter\n"
        "router = APIRouter()\n"
        "@router.post('/a')\n"
        "async def make_thing() -> None: ...\n"
        "@router.get('/b')\n"
        "async def read_thing() -> None:\n"
        "    await make_thing()\n"
    )
    (ui / "pages.py").write_text(
        "from api.routes.things import router, make_thing\n"
        "from api.routes import things\n"
        "import api.routes.things\n"
        "from ..routes import things as relative\n"
        "async def page() -> None:\n"
        "    await make_thing()\n"
        "    await things.read_thing()\n"
        "    await api.routes.things.make_thing()\n"
        "    await relative.make_thing()\n"
    )
    assert handler_uses(tmp_path) == [
        "api/routes/things.py:7: calls its own route handler make_thing",
        "api/ui/pages.py:1: imports api.routes.things.make_thing",
        "api/ui/pages.py:7: uses api.routes.things.read_thing",
        "api/ui/pages.py:8: uses api.routes.things.make_thing",
        "api/ui/pages.py:9: uses api.routes.things.make_thing",
    ]


def test_service_functions_are_keyword_only() -> None:
    """The actions (the coroutines) are called by name from routes and pages alike, so a new
    parameter cannot shift the others."""
    checked = 0
    for info in pkgutil.iter_modules(api.services.__path__, "api.services."):
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if (
                name.startswith("_")
                or function.__module__ != module.__name__
                or not inspect.iscoroutinefunction(function)
            ):
                continue
            positional = [
                p.name
                for p in inspect.signature(function).parameters.values()
                if p.kind is not inspect.Parameter.KEYWORD_ONLY
            ]
            assert positional == [], f"{info.name}.{name} takes {positional} by position"
            checked += 1
    assert checked >= 5  # publish, reschedule, cancel, retry, decide: the walk found them
