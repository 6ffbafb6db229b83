"""Declarative filters for router handlers, composable with ``&``, ``|`` and ``~``.

A filter answers whether a handler applies to a message; it may also extract data
(the command's arguments, a regex match) into ``ctx.data`` for the handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import ClassVar

from bot.context import Context
from bot.incoming import Incoming, Kind
from bot.parsing.intent import Intent, classify


class Filter:
    async def check(self, msg: Incoming, ctx: Context) -> bool:
        raise NotImplementedError

    def __and__(self, other: Filter) -> Filter:
        return _All((self, other))

    def __or__(self, other: Filter) -> Filter:
        return _Any((self, other))

    def __invert__(self) -> Filter:
        return _Not(self)


class InstantFilter(Filter):
    """A filter answered without an await from the message's kind, channel and event
    and the sender's role and dialog state, and nothing else: the router works out
    once per combination of these which handlers they let through
    (``bot.router._profile``). Subclasses implement :meth:`passes`; :meth:`check` is
    the same answer."""

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        raise NotImplementedError

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        return self.passes(msg, ctx)


class _All(Filter):
    def __init__(self, filters: Iterable[Filter]) -> None:
        self.filters = tuple(filters)

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        for f in self.filters:
            if not await f.check(msg, ctx):
                return False
        return True


class _Any(Filter):
    def __init__(self, filters: Iterable[Filter]) -> None:
        self.filters = tuple(filters)

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        for f in self.filters:
            if await f.check(msg, ctx):
                return True
        return False


class _Not(Filter):
    def __init__(self, inner: Filter) -> None:
        self.inner = inner

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        return not await self.inner.check(msg, ctx)


class RoleIs(InstantFilter):
    """Sender's role: ``rep``, ``manager``, ``admin``, ``customer``, ``stranger``;
    ``staff`` stands for any of the first three."""

    def __init__(self, *roles: str) -> None:
        expanded = set(roles)
        if "staff" in expanded:
            expanded |= {"rep", "manager", "admin"}
        self.roles = frozenset(expanded)

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        return ctx.sender.role in self.roles


class ChannelIs(InstantFilter):
    """The channel the message came through: ``oa``, ``wecom``, ``simulator``."""

    def __init__(self, *channels: str) -> None:
        self.channels = frozenset(channels)

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        return msg.channel in self.channels


class KindIs(InstantFilter):
    def __init__(self, *kinds: Kind | str) -> None:
        self.kinds = frozenset(Kind(k) for k in kinds)

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        return msg.kind in self.kinds


class EventIs(InstantFilter):
    def __init__(self, *events: str) -> None:
        self.events = frozenset(e.lower() for e in events)

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        return msg.kind is Kind.EVENT and msg.event in self.events


class EventKeyIs(Filter):
    def __init__(self, *keys: str) -> None:
        self.keys = frozenset(keys)

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        return msg.kind is Kind.EVENT and msg.event_key in self.keys


# Users type full-width spaces and punctuation on phones; treat them as separators.
_SEPARATORS = re.compile(r"[\s\u3000,，:：]+")


@lru_cache(maxsize=512)
def split_command(text: str) -> tuple[str, str]:
    """``"绑定  AB12"`` → ``("绑定", "AB12")``; a leading ``/`` is ignored.

    Cached: every Command filter of the routers asks it of the same text until one
    matches (dozens of times for a command late in the order)."""
    text = text.strip().lstrip("/")
    parts = _SEPARATORS.split(text, maxsplit=1)
    # Speech recognition ends sentences with "。": "帮助。" is still 帮助.
    word = (parts[0] if parts else "").rstrip("。！？!?.")
    rest = parts[1].strip() if len(parts) > 1 else ""
    return word.lower(), rest


def answer_text(msg: Incoming) -> str:
    """The user's words as an answer to a bot question: trimmed, without the full stop
    speech recognition adds (「是的。」 is 是的)."""
    return msg.text.strip().rstrip("。.!！")


class Command(Filter):
    """The first word of a text (or recognised voice) message is one of ``words``.
    Puts the rest of the text in ``ctx.data["args"]``."""

    # Every command word of every router: a glued prefix ("改级TS1" against 改) only
    # counts when no longer command word matches too.
    _registry: ClassVar[set[str]] = set()

    def __init__(self, *words: str) -> None:
        self.words = frozenset(w.lower() for w in words)
        Command._registry.update(self.words)

    @classmethod
    def starts_any(cls, text: str) -> bool:
        """``text`` begins with a command word of some router (glued or not)."""
        lowered = text.lstrip().lstrip("/").lower()
        return any(lowered.startswith(word) for word in cls._registry)

    @classmethod
    def candidates(cls, text: str) -> frozenset[str]:
        """The command words ``text`` may be meant as — its first word, and every
        registered word it begins with (glued) — a superset of what :meth:`check`
        accepts: the router skips a handler whose words are none of these."""
        if not text:
            return frozenset()
        return _candidates(split_command(text)[0], len(cls._registry))

    @classmethod
    def _longer_word_matches(cls, word: str, prefix: str) -> bool:
        return any(len(other) > len(prefix) and word.startswith(other) for other in cls._registry)

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        if not msg.text:
            return False
        word, rest = split_command(msg.text)
        if word in self.words:
            ctx.data["command"] = word
            ctx.data["args"] = _args(rest)
            return True
        # "绑定AB12" typed or spoken without a space still means 绑定.
        for w in self.words:
            if (
                word.startswith(w)
                and len(word) > len(w)
                and not w.isascii()
                and not self._longer_word_matches(word, w)
            ):
                ctx.data["command"] = w
                ctx.data["args"] = _args(msg.text.strip().lstrip("/")[len(w) :])
                return True
        return False


@lru_cache(maxsize=512)
def _candidates(word: str, registered: int) -> frozenset[str]:
    # Keyed on the first word (「跟进」 for most messages; a glued 「跟进李娜…」 is one
    # word) and on the registry's size: a command registered later is not missed.
    by_first = _by_first_char(registered)
    return frozenset({word, *(w for w in by_first.get(word[:1], ()) if word.startswith(w))})


@lru_cache(maxsize=4)
def _by_first_char(_registered: int) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for word in Command._registry:
        grouped.setdefault(word[:1], []).append(word)
    return {first: tuple(words) for first, words in grouped.items()}


def command_words(f: Filter) -> frozenset[str] | None:
    """The command words a message must be one of for ``f`` to pass, if ``f`` says so
    (a :class:`Command`, maybe among others it requires, or a choice of them)."""
    if isinstance(f, Command):
        return f.words
    if isinstance(f, _All):
        for inner in f.filters:
            if (words := command_words(inner)) is not None:
                return words
        return None
    if isinstance(f, _Any):
        choices = [command_words(inner) for inner in f.filters]
        if any(c is None for c in choices):
            return None
        return frozenset().union(*choices)  # type: ignore[arg-type]
    return None


def _args(rest: str) -> str:
    # Speech recognition ends every sentence with 「。」: it belongs to no argument (a
    # company 「宁波某某。」, a contact 「王经理。」, an amended note).
    return rest.strip().rstrip("。.!！").rstrip()


class Regex(Filter):
    def __init__(self, pattern: str | re.Pattern[str]) -> None:
        self.pattern = re.compile(pattern) if isinstance(pattern, str) else pattern

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        match = self.pattern.search(msg.text or "")
        if match:
            ctx.data["match"] = match
        return match is not None


class StateIs(InstantFilter):
    """The sender's conversation is in one of ``states``; ``StateIs(None)`` = no dialog."""

    def __init__(self, *states: str | None) -> None:
        self.states = frozenset(states)

    def passes(self, msg: Incoming, ctx: Context) -> bool:
        state = ctx.conversation.state if ctx.conversation is not None else None
        return state in self.states


class AnyMessage(Filter):
    async def check(self, msg: Incoming, ctx: Context) -> bool:
        return True


class IntentIs(Filter):
    """A customer's free text is about one of ``intents`` (``bot.parsing.intent``);
    classified once per message and kept in ``ctx.data["intent"]``."""

    def __init__(self, *intents: Intent) -> None:
        self.intents = frozenset(intents)

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        if not msg.text:
            return False
        if "intent" not in ctx.data:
            ctx.data["intent"] = classify(msg.text)
        return ctx.data["intent"] in self.intents
