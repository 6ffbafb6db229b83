"""The one owner of each access token.

A token is fetched once, cached in memory and in the ``access_token`` table (so
every worker process uses the same one), refreshed shortly before it expires by one
caller at a time, and refetched exactly once when the API says it is invalid. A
credential that cannot get a token (wrong secret, IP not whitelisted) fails fast for
a cool-down period instead of hammering Tencent — no recursion, no hot loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.logs import register_secret
from models.tokens import AccessToken

log = logging.getLogger("wecrm.tokens")


class TokenError(Exception):
    """Could not obtain an access token; ``code`` is Tencent's errcode (or -1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"errcode {code}: {message}")
        self.code = code
        self.message = message


# Returns (token, seconds until it expires).
Fetcher = Callable[[], Awaitable[tuple[str, int]]]


class TokenOwner:
    def __init__(
        self,
        key: str,
        fetch: Fetcher,
        *,
        margin: float = 300.0,
        lease: float = 30.0,
        failure_cooldown: float = 30.0,
        poll: float = 0.1,
    ) -> None:
        self.key = key
        self._fetch = fetch
        self.margin = timedelta(seconds=margin)
        self.lease = timedelta(seconds=lease)
        self.failure_cooldown = timedelta(seconds=failure_cooldown)
        self.poll = poll
        self.owner_id = secrets.token_hex(8)
        self._lock = asyncio.Lock()
        self._token = ""
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._failed_until = datetime.min.replace(tzinfo=UTC)
        self._last_error: TokenError | None = None
        self.fetches = 0

    def _fresh(self, now: datetime) -> bool:
        return bool(self._token) and self._expires_at - self.margin > now

    async def get(self) -> str:
        if self._fresh(datetime.now(UTC)):
            return self._token
        async with self._lock:
            return await self._refresh()

    async def _refresh(self) -> str:
        waited_until = datetime.now(UTC) + self.lease
        while True:
            now = datetime.now(UTC)
            if self._fresh(now):
                return self._token
            row = await AccessToken.get_or_none(key=self.key)
            if row and row.token and row.expires_at and row.expires_at - self.margin > now:
                register_secret(row.token)
                self._token, self._expires_at = row.token, row.expires_at
                return self._token
            if self._last_error is not None and now < self._failed_until:
                raise self._last_error
            if await self._take_lease(now):
                return await self._fetch_and_store()
            if now >= waited_until:
                exc = TokenError(-1, f"timed out waiting for another worker to refresh {self.key}")
                self._remember_failure(exc)
                raise exc
            # Another worker holds the lease and is fetching: wait for its token.
            await asyncio.sleep(self.poll)

    async def _take_lease(self, now: datetime) -> bool:
        try:
            await AccessToken.get_or_create(key=self.key)
        except IntegrityError:  # created by another worker at the same moment
            pass
        taken = await AccessToken.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now), key=self.key
        ).update(lease_owner=self.owner_id, lease_until=now + self.lease)
        return taken == 1

    async def _fetch_and_store(self) -> str:
        self.fetches += 1
        try:
            token, expires_in = await self._fetch()
            register_secret(token)  # before the SQL that stores it can be logged
        except BaseException as exc:
            # Any failure (cancelled at shutdown included) hands the lease back at
            # once instead of making other workers wait it out.
            await AccessToken.filter(key=self.key, lease_owner=self.owner_id).update(
                lease_owner=None, lease_until=None
            )
            if not isinstance(exc, TokenError):
                raise
            self._remember_failure(exc)
            raise
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        # Only the lease holder stores: a fetch that outlived its lease must not
        # overwrite the newer token another worker stored meanwhile.
        stored = await AccessToken.filter(key=self.key, lease_owner=self.owner_id).update(
            token=token, expires_at=expires_at, lease_owner=None, lease_until=None
        )
        if not stored:
            log.warning("token fetched after the lease ran out; using it locally only")
        self._token, self._expires_at = token, expires_at
        self._last_error = None
        return token

    def _remember_failure(self, exc: TokenError) -> None:
        self._last_error = exc
        self._failed_until = datetime.now(UTC) + self.failure_cooldown
        log.error(
            "cannot get an access token; check the app id and secret in the config",
            extra={"token_key": self.key, "errcode": exc.code, "errmsg": exc.message},
        )

    async def invalidate(self, token: str) -> None:
        """The API rejected ``token``: forget it — unless a newer one replaced it already."""
        if self._token == token:
            self._token = ""
        await AccessToken.filter(key=self.key, token=token).update(token="", expires_at=None)
