"""``bot.sqlite_inline.to_the_end``: a caller cancelled while its statement runs on
aiosqlite's thread goes only once the statement is over."""

from __future__ import annotations

import asyncio

import pytest

from bot.sqlite_inline import to_the_end


@pytest.mark.parametrize("cancellations", [1, 2, 3])
async def test_a_cancelled_caller_goes_once_its_statement_is_over(cancellations: int) -> None:
    statement: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    caller = asyncio.create_task(to_the_end(statement))
    await asyncio.sleep(0)
    for _ in range(cancellations):  # a deadline, then shutdown, …
        caller.cancel()
        await asyncio.sleep(0)
        assert not caller.done()  # the statement still runs: so does its caller
    statement.set_result("BEGIN went through")
    with pytest.raises(asyncio.CancelledError):
        await caller
