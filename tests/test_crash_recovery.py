"""A crash does not lose or repeat a message: kill -9 mid-burst, restart, WeChat's
retries — on SQLite and PostgreSQL, with a real ``wecrm serve`` process."""

from __future__ import annotations

from pathlib import Path

from tests.crash_scenario import kill_during_burst
from tests.live_server import LiveServer, write_config
from tests.sales_helpers import REP_A, customer, team


async def test_kill_9_during_a_burst_loses_and_repeats_nothing(db: str, tmp_path: Path) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    server = LiveServer(write_config(tmp_path / "config.toml", db), None, "--no-scheduler")
    await server.start()
    try:
        result = await kill_during_burst(server, REP_A, "周杰", messages=60, kill_after=20)
    finally:
        stderr = await server.stop()
    assert result.answered_before_kill < result.sent  # the kill really cut the burst
    assert (result.lost, result.duplicated, result.unconfirmed) == (0, 0, 0), result
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-2000:]
