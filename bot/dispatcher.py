"""The root router: runs the middleware chain, then the first matching handler."""

from __future__ import annotations

from functools import partial

from bot.context import Context
from bot.incoming import Incoming, Reply
from bot.middlewares import Middleware, Next
from bot.router import Router, as_reply


class Dispatcher(Router):
    def __init__(self, middlewares: list[Middleware] | None = None) -> None:
        super().__init__("root")
        self.middlewares: list[Middleware] = list(middlewares or [])

    async def _route(self, msg: Incoming, ctx: Context) -> Reply:
        handler = await self.resolve(msg, ctx)
        if handler is None:
            return Reply.none()
        ctx.handler_name = handler.name
        return as_reply(await handler.callback(msg, ctx))

    async def feed(self, msg: Incoming, ctx: Context) -> Reply:
        call: Next = self._route
        for mw in reversed(self.middlewares):
            call = partial(mw, call)
        return await call(msg, ctx)
