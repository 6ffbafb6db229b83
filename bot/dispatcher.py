"""The root router: runs the middleware chain, then the first matching handler."""

from __future__ import annotations

from functools import partial

from bot.context import Context
from bot.conversation import yields
from bot.incoming import Incoming, Kind, Reply
from bot.middlewares import Middleware, Next
from bot.router import HandlerObject, Router, as_reply


class Dispatcher(Router):
    def __init__(self, middlewares: list[Middleware] | None = None) -> None:
        super().__init__("root")
        self.middlewares: list[Middleware] = list(middlewares or [])

    async def _route(
        self, msg: Incoming, ctx: Context, handler: HandlerObject | None = None
    ) -> Reply:
        conversation = ctx.conversation
        pending = conversation.state if conversation is not None else None
        changes = conversation.changes if conversation is not None else 0
        if handler is None:
            handler = await self.resolve(msg, ctx)
        if handler is None:
            return Reply.none()
        ctx.handler_name, ctx.read_only = handler.name, handler.read_only
        reply = as_reply(await handler.callback(msg, ctx))
        if (
            conversation is not None
            and yields(pending)
            and conversation.changes == changes
            and msg.kind in (Kind.TEXT, Kind.VOICE)
            and not handler.dialog_step
        ):
            # The user did not answer the bot's question but wrote something else (a new
            # command, a sentence): the question is not pending any more, so a later
            # 「确认」 or 「2」 cannot act on it. Unless the handler asked a question of its
            # own — a new list of the same kind, whose 「2」 must find it.
            await conversation.clear()
        return reply

    async def feed(
        self, msg: Incoming, ctx: Context, handler: HandlerObject | None = None
    ) -> Reply:
        """Run the middlewares and the handler: ``handler`` when the caller already
        resolved it (the pipeline does, to know whether it is read-only)."""
        call: Next = partial(self._route, handler=handler)
        for mw in reversed(self.middlewares):
            call = partial(mw, call)
        return await call(msg, ctx)
