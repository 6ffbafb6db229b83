"""Routers in the manner of aiogram: handlers registered with filters, routers
nested, the first matching handler wins (depth-first, in registration order)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.context import Context
from bot.filters import Filter, StateIs, _All
from bot.incoming import Incoming, Reply

HandlerResult = Reply | str | None
HandlerFunc = Callable[[Incoming, Context], Awaitable[HandlerResult]]


@dataclass
class HandlerObject:
    callback: HandlerFunc
    filter: Filter
    name: str
    # A step of a dialog (filtered on a dialog state), not a command of its own.
    dialog_step: bool = False
    # Answers without changing data: the pipeline neither records the message for
    # dedup (answering WeChat's retry again gives the same text) nor audits it,
    # unless the handler names an audit target (whose card was seen).
    read_only: bool = False

    async def matches(self, msg: Incoming, ctx: Context) -> bool:
        return await self.filter.check(msg, ctx)


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[HandlerObject] = []
        self.sub_routers: list[Router] = []

    def message(
        self, *filters: Filter, read_only: bool = False
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """Register a handler: ``@router.message(Command("帮助"), read_only=True)``."""

        def register(callback: HandlerFunc) -> HandlerFunc:
            name = f"{self.name}.{callback.__name__}"
            step = any(isinstance(f, StateIs) and f.states - {None} for f in filters)
            self.handlers.append(HandlerObject(callback, _All(filters), name, step, read_only))
            return callback

        return register

    def include_router(self, router: Router) -> Router:
        self.sub_routers.append(router)
        return router

    async def resolve(self, msg: Incoming, ctx: Context) -> HandlerObject | None:
        for handler in self.handlers:
            data_before = dict(ctx.data)
            if await handler.matches(msg, ctx):
                return handler
            ctx.data = data_before  # a filter that failed late must not leak its data
        for sub in self.sub_routers:
            found = await sub.resolve(msg, ctx)
            if found is not None:
                return found
        return None


def as_reply(result: HandlerResult) -> Reply:
    if result is None:
        return Reply.none()
    if isinstance(result, str):
        return Reply(text=result)
    return result
