"""Each platform's login endpoints (OAuth or password), one module per platform.

Every module here defines `router`; the sandbox mounts them all.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def login_routers() -> list[APIRouter]:
    routers = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        router = importlib.import_module(f"{__name__}.{module.name}").router
        assert isinstance(router, APIRouter)
        routers.append(router)
    return routers
