"""Handlers: one module per capability. They parse and answer; the rules they apply
live in service functions next to the models."""

from __future__ import annotations

from bot.router import Router
from handlers import fallback, help, staff


def routers() -> list[Router]:
    """All routers in dispatch order; the fallback router must stay last."""
    return [staff.router, help.router, fallback.router]
