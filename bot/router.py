"""Routers in the manner of aiogram: handlers registered with filters, routers
nested, the first matching handler wins (depth-first, in registration order)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.context import Context
from bot.filters import Command, Filter, InstantFilter, StateIs, _All, command_words
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

    def __post_init__(self) -> None:
        # Known up front: a message whose first word is none of these cannot match.
        self.words = command_words(self.filter)
        # Its filters answered without an await (role, dialog state, kind): asked first.
        inner = self.filter.filters if isinstance(self.filter, _All) else (self.filter,)
        self.instant = tuple(f for f in inner if isinstance(f, InstantFilter))


# Bumped by every registration anywhere: a router's flattened order is rebuilt when a
# router below it gained a handler after it was flattened.
_registrations = 0


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[HandlerObject] = []
        self.sub_routers: list[Router] = []
        self._flat: tuple[int, tuple[HandlerObject, ...]] = (-1, ())

    def message(
        self, *filters: Filter, read_only: bool = False
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """Register a handler: ``@router.message(Command("帮助"), read_only=True)``."""

        def register(callback: HandlerFunc) -> HandlerFunc:
            name = f"{self.name}.{callback.__name__}"
            step = any(isinstance(f, StateIs) and f.states - {None} for f in filters)
            self.handlers.append(HandlerObject(callback, _All(filters), name, step, read_only))
            _registered()
            return callback

        return register

    def include_router(self, router: Router, *, first: bool = False) -> Router:
        """Try ``router``'s handlers after those included before it, or before all
        of them when ``first``."""
        self.sub_routers.insert(0 if first else len(self.sub_routers), router)
        _registered()
        return router

    def flattened(self) -> tuple[HandlerObject, ...]:
        """Every handler of this router and those below, in the order they are tried:
        depth-first, in registration order."""
        version, handlers = self._flat
        if version != _registrations:
            handlers = (*self.handlers, *(h for sub in self.sub_routers for h in sub.flattened()))
            self._flat = (_registrations, handlers)
        return handlers

    async def resolve(self, msg: Incoming, ctx: Context) -> HandlerObject | None:
        """The first handler whose filters pass. A command handler whose words the
        message does not begin with, or one whose role, dialog state or kind of
        message is another, is skipped unasked (dozens of handlers come before 跟进:
        each check is a chain of coroutines and a copy of ``ctx.data``)."""
        candidates = Command.candidates(msg.text)
        for handler in self.flattened():
            if handler.words is not None and handler.words.isdisjoint(candidates):
                continue
            if not all(f.passes(msg, ctx) for f in handler.instant):
                continue
            data_before = dict(ctx.data)
            if await handler.matches(msg, ctx):
                return handler
            ctx.data = data_before  # a filter that failed late must not leak its data
        return None


def _registered() -> None:
    global _registrations
    _registrations += 1


def as_reply(result: HandlerResult) -> Reply:
    if result is None:
        return Reply.none()
    if isinstance(result, str):
        return Reply(text=result)
    return result
