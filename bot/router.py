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
        # The handlers whose instant filters pass, per sender and message profile
        # (_profile), for the registrations as of the version they were worked out at.
        self._passing: dict[tuple[object, ...], tuple[HandlerObject, ...]] = {}
        self._passing_version = -1

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
        for handler in self._instantly_passing(msg, ctx):
            if handler.words is not None and handler.words.isdisjoint(candidates):
                continue
            data_before = dict(ctx.data)
            if await handler.matches(msg, ctx):
                return handler
            ctx.data = data_before  # a filter that failed late must not leak its data
        return None

    def _instantly_passing(self, msg: Incoming, ctx: Context) -> tuple[HandlerObject, ...]:
        """The handlers whose instant filters pass: the same for every message of the
        same :func:`_profile` (a rep's text without a dialog skips the customers' and
        the dialogs' handlers without asking them again)."""
        if self._passing_version != _registrations:
            self._passing, self._passing_version = {}, _registrations
        key = _profile(msg, ctx)
        found = self._passing.get(key)
        if found is None:
            if len(self._passing) >= _PROFILES_KEPT:
                self._passing.clear()  # event names come from outside: keep it bounded
            found = self._passing[key] = tuple(
                h for h in self.flattened() if all(f.passes(msg, ctx) for f in h.instant)
            )
        return found


# Profiles seen in practice are a few dozen (kinds × roles × dialog states).
_PROFILES_KEPT = 512


def _profile(msg: Incoming, ctx: Context) -> tuple[object, ...]:
    """All that an :class:`~bot.filters.InstantFilter` may look at."""
    state = ctx.conversation.state if ctx.conversation is not None else None
    return (msg.kind, msg.channel, msg.event, ctx.sender.role, state)


def _registered() -> None:
    global _registrations
    _registrations += 1


def as_reply(result: HandlerResult) -> Reply:
    if result is None:
        return Reply.none()
    if isinstance(result, str):
        return Reply(text=result)
    return result
