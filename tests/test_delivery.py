"""Outbound delivery against the fake Tencent API: the token owner, the API client,
the outbox worker and the platform's rules."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from bot.app import DELIVERY, PIPELINE
from bot.delivery import Delivery
from bot.incoming import Reply
from bot.metrics import Metrics
from bot.outbox_worker import OutboxWorker
from bot.wechat_api import ApiError
from models import Customer, Outbox
from models.enums import OutboxStatus
from models.outbox import bulk_send_time, enqueue, retry_failed
from tests.conftest import AppFactory, make_config, sender_for
from tests.fake_tencent import OA_CUSTOM_SEND, OA_TOKEN, WECOM_SEND, FakeTencent
from tests.test_dedup_and_deadline import Gate
from tests.wechat_client import OPENID, text_xml


def sections(fake: FakeTencent, **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "wechat": {"api_base": fake.base_url},
        "wecom": {
            "api_base": fake.base_url,
            "corp_id": "ww0123456789abcdef",
            "secret": "corp-secret",
            "agent_id": 1000002,
        },
        "outbox": {"request_timeout": 0.5},
    }
    for name, values in extra.items():
        out.setdefault(name, {}).update(values)
    return out


@pytest.fixture
async def delivery(db: str, fake_tencent: FakeTencent) -> AsyncIterator[Delivery]:
    d = Delivery(make_config(db, **sections(fake_tencent)), Metrics())
    d.build()
    yield d
    await d.close()


async def queue(
    n: int = 1, channel: str = "oa", recipient: str = OPENID, text: str = "提醒"
) -> None:
    for i in range(n):
        await enqueue(
            f"test:{channel}:{recipient}:{i}", channel, recipient, {"reply": {"text": f"{text}{i}"}}
        )


async def row() -> Outbox:
    return await Outbox.get(dedup_key__startswith="test:")


# --- the token owner ------------------------------------------------------------------


async def test_concurrent_senders_fetch_one_token(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    assert delivery.oa is not None
    await asyncio.gather(*(delivery.oa.send_custom(f"o{i}", Reply(text="你好")) for i in range(20)))
    assert fake_tencent.token_fetches == 1
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 20


async def test_workers_share_one_token_through_the_database(
    db: str, fake_tencent: FakeTencent
) -> None:
    # With single_token the fake kills older tokens on every fetch, as Tencent does
    # after its grace period: per-worker tokens would break each other.
    fake_tencent.single_token = True
    workers = [Delivery(make_config(db, **sections(fake_tencent)), Metrics()) for _ in range(3)]
    try:
        for w in workers:
            w.build()
        for _ in range(2):
            for w in workers:
                assert w.oa is not None
                await w.oa.send_custom(OPENID, Reply(text="共享令牌"))
    finally:
        for w in workers:
            await w.close()
    assert fake_tencent.token_fetches == 1
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 6


async def test_expired_token_is_refetched_exactly_once(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    assert delivery.oa is not None
    await delivery.oa.send_custom(OPENID, Reply(text="第一条"))
    fake_tencent.expire_tokens()
    await asyncio.gather(*(delivery.oa.send_custom(OPENID, Reply(text="之后")) for _ in range(5)))
    assert fake_tencent.token_fetches == 2
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 6


async def test_persistent_40001_is_bounded(delivery: Delivery, fake_tencent: FakeTencent) -> None:
    assert delivery.oa is not None
    fake_tencent.fail_next(OA_CUSTOM_SEND, 40001, times=100)
    with pytest.raises(ApiError) as err:
        await delivery.oa.send_custom(OPENID, Reply(text="x"))
    assert err.value.code == 40001
    # One try, one refetch, one retry: no recursion.
    assert len(fake_tencent.calls_to(OA_CUSTOM_SEND)) == 2
    assert fake_tencent.token_fetches == 2


async def test_broken_secret_fails_fast_with_a_clear_log(
    db: str, fake_tencent: FakeTencent, caplog: pytest.LogCaptureFixture
) -> None:
    d = Delivery(
        make_config(db, **sections(fake_tencent, wechat={"app_secret": "wrong"})), Metrics()
    )
    worker = d.build()
    try:
        await queue(3)
        with caplog.at_level(logging.ERROR, logger="wecrm.tokens"):
            assert await worker.run_once() == 3
    finally:
        await d.close()
    # One fetch for three messages: the failure is remembered for a cool-down.
    assert len(fake_tencent.calls_to(OA_TOKEN)) == 1
    rows = await Outbox.all()
    assert all(r.status == OutboxStatus.PENDING and r.attempts == 1 for r in rows)
    assert all("40125" in r.last_error for r in rows)
    assert any("check the app id and secret" in r.getMessage() for r in caplog.records)


# --- the worker ---------------------------------------------------------------------


async def test_worker_sends_and_records_the_message_id(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    await queue(1, text="生日提醒")
    assert delivery.worker is not None
    assert await delivery.worker.run_once() == 1
    sent = await row()
    assert sent.status == OutboxStatus.SENT and sent.platform_msg_id and sent.sent_at
    assert fake_tencent.sent_to(OA_CUSTOM_SEND) == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "生日提醒0"}}
    ]
    assert await delivery.worker.run_once() == 0


async def test_enqueueing_the_same_key_twice_sends_once(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    assert await enqueue("birthday:1:2026-11-25", "oa", OPENID, {"reply": {"text": "生日"}})
    assert not await enqueue("birthday:1:2026-11-25", "oa", OPENID, {"reply": {"text": "生日"}})
    assert delivery.worker is not None
    await delivery.worker.run_once()
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 1


@pytest.mark.parametrize("failure", ["http502", "timeout"])
async def test_server_errors_and_timeouts_back_off_then_deliver_once(
    delivery: Delivery, fake_tencent: FakeTencent, failure: str
) -> None:
    assert delivery.worker is not None
    if failure == "timeout":
        fake_tencent.delay_next(OA_CUSTOM_SEND, 30)  # the client gives up after 0.5 s
    else:
        fake_tencent.fail_next(OA_CUSTOM_SEND, 0, http_status=502)
    await queue(1)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        await delivery.worker.run_once()
    # No release of the delayed request: the client hung up on it, and the fake drops a
    # request whose client hung up (waking it first would deliver it after all).
    waiting = await row()
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 1
    delay = (waiting.next_attempt_at - start).total_seconds()
    assert 48 <= delay <= 72  # 60 s ± 20 % jitter
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert await delivery.worker.run_once() == 0  # not due yet
    with time_machine.travel(start + timedelta(seconds=80), tick=False):
        assert await delivery.worker.run_once() == 1
    done = await row()
    assert done.status == OutboxStatus.SENT and done.attempts == 2
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 1


async def test_gives_up_after_max_attempts_and_can_be_retried(
    db: str, fake_tencent: FakeTencent
) -> None:
    d = Delivery(make_config(db, **sections(fake_tencent, outbox={"max_attempts": 3})), Metrics())
    worker = d.build()
    try:
        fake_tencent.fail_next(OA_CUSTOM_SEND, -1, times=3)
        await queue(1)
        now = datetime.now(UTC)
        for step in range(3):
            with time_machine.travel(now + timedelta(hours=step * 2), tick=False):
                assert await worker.run_once() == 1
        failed = await row()
        assert failed.status == OutboxStatus.FAILED and failed.attempts == 3
        assert "-1" in failed.last_error
        assert await retry_failed() == 1
        assert await worker.run_once() == 1
        assert (await row()).status == OutboxStatus.SENT
    finally:
        await d.close()


async def test_invalid_user_parks_the_row_and_marks_the_customer(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    await Customer.create(name="张三", openid=OPENID)
    fake_tencent.fail_next(OA_CUSTOM_SEND, 43004)
    await queue(1)
    assert delivery.worker is not None
    await delivery.worker.run_once()
    parked = await row()
    assert parked.status == OutboxStatus.FAILED and "43004" in parked.last_error
    assert (await Customer.get(openid=OPENID)).unreachable_at is not None


async def test_quota_errors_back_off_at_least_15_minutes(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45047)
    await queue(1)
    assert delivery.worker is not None
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        await delivery.worker.run_once()
    later = await row()
    assert later.status == OutboxStatus.PENDING
    assert later.next_attempt_at - start >= timedelta(minutes=15)


async def test_wecom_member_rate_limit_defers_without_losing(
    db: str, fake_tencent: FakeTencent
) -> None:
    d = Delivery(
        make_config(
            db,
            **sections(fake_tencent, wecom={"per_member_per_minute": 3}, outbox={"batch_size": 10}),
        ),
        Metrics(),
    )
    worker = d.build()
    try:
        await queue(5, channel="wecom", recipient="wangwu")
        start = datetime.now(UTC)
        with time_machine.travel(start, tick=False):
            assert await worker.run_once() == 5
        assert len(fake_tencent.sent_to(WECOM_SEND)) == 3
        deferred = await Outbox.filter(status=OutboxStatus.PENDING)
        assert len(deferred) == 2 and all(r.attempts == 0 for r in deferred)
        with time_machine.travel(start + timedelta(seconds=61), tick=False):
            await worker.run_once()
        assert len(fake_tencent.sent_to(WECOM_SEND)) == 5
        assert fake_tencent.sent_to(WECOM_SEND)[0]["agentid"] == 1000002
    finally:
        await d.close()


async def test_two_workers_never_send_a_row_twice(db: str, fake_tencent: FakeTencent) -> None:
    config = make_config(db, **sections(fake_tencent, outbox={"batch_size": 7}))
    deliveries = [Delivery(config, Metrics()) for _ in range(2)]
    workers: list[OutboxWorker] = [d.build() for d in deliveries]
    try:
        await queue(60)

        async def drain(worker: OutboxWorker) -> None:
            while await worker.run_once():
                pass

        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for d in deliveries:
            await d.close()
    texts = [body["text"]["content"] for body in fake_tencent.sent_to(OA_CUSTOM_SEND)]
    assert len(texts) == 60 and len(set(texts)) == 60
    assert await Outbox.filter(status=OutboxStatus.SENT).count() == 60


async def test_a_worker_killed_mid_send_does_not_lose_the_row(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    assert delivery.worker is not None
    fake_tencent.delay_next(OA_CUSTOM_SEND, 30)
    fake_tencent.fail_next(OA_CUSTOM_SEND, 0, http_status=502)
    await queue(1)
    start = datetime.now(UTC)
    task = asyncio.create_task(delivery.worker.run(asyncio.Event()))
    await fake_tencent.wait_for_calls(OA_CUSTOM_SEND)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake_tencent.release_delays()
    assert (await row()).status == OutboxStatus.SENDING
    with time_machine.travel(start + timedelta(seconds=121), tick=False):
        assert await delivery.worker.run_once() == 1
    assert (await row()).status == OutboxStatus.SENT
    assert len(fake_tencent.sent_to(OA_CUSTOM_SEND)) == 1


async def test_a_kill_mid_drain_repeats_at_most_the_sends_in_flight(
    db: str, fake_tencent: FakeTencent
) -> None:
    config = make_config(db, **sections(fake_tencent, outbox={"max_in_flight": 3}))
    delivery = Delivery(config, Metrics())
    worker = delivery.build()
    try:
        fake_tencent.delay_next(OA_CUSTOM_SEND, 30, times=10)
        await queue(10)
        start = datetime.now(UTC)
        task = asyncio.create_task(worker.run(asyncio.Event()))
        await fake_tencent.wait_for_calls(OA_CUSTOM_SEND, 3)
        # Tencent may have taken these three; no fourth call starts while they hang.
        with pytest.raises(TimeoutError):
            await fake_tencent.wait_for_calls(OA_CUSTOM_SEND, 4, limit=0.3)
        task.cancel()  # the worker dies with three calls under way
        with pytest.raises(asyncio.CancelledError):
            await task
        fake_tencent.release_delays(forget_queued=True)
        with time_machine.travel(start + timedelta(seconds=121), tick=False):
            while await worker.run_once():
                pass
    finally:
        await delivery.close()
    assert await Outbox.filter(status=OutboxStatus.SENT).count() == 10
    texts = [c.json["text"]["content"] for c in fake_tencent.calls_to(OA_CUSTOM_SEND)]
    assert len(set(texts)) == 10
    assert len(texts) - 10 <= 3  # the duplicates: at most the sends that were in flight


# --- through the webhook ------------------------------------------------------------------


async def test_out_of_window_waits_for_the_users_next_message(
    app_client: AppFactory, fake_tencent: FakeTencent
) -> None:
    client = await app_client(**sections(fake_tencent))
    worker = client.app[DELIVERY].worker
    assert worker is not None
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45015)
    await queue(1, text="回访提醒")
    await worker.run_once()
    assert (await row()).status == OutboxStatus.WAITING_FOR_USER
    assert await worker.run_once() == 0  # nothing to do until the user writes

    wechat = sender_for(client)
    await wechat.say("帮助")
    assert await worker.run_once() == 1
    assert (await row()).status == OutboxStatus.SENT
    assert fake_tencent.sent_to(OA_CUSTOM_SEND)[-1]["text"]["content"] == "回访提醒0"


async def test_late_replies_reach_the_user(
    app_client: AppFactory, fake_tencent: FakeTencent
) -> None:
    client = await app_client(
        **sections(fake_tencent, bot={"reply_deadline": 0.2}, outbox={"enabled": True})
    )
    gate = Gate("报表生成好了")
    gate.install(client)
    wechat = sender_for(client)
    resp = await wechat.post(text_xml("慢"))
    assert await resp.text() == "success"
    gate.release.set()
    await client.app[PIPELINE].drain(wait=5)
    calls = await fake_tencent.wait_for_calls(OA_CUSTOM_SEND)
    assert calls[0].json == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "报表生成好了"},
    }


async def test_metrics_show_sends_and_failures(
    app_client: AppFactory, fake_tencent: FakeTencent
) -> None:
    client = await app_client(**sections(fake_tencent))
    worker = client.app[DELIVERY].worker
    assert worker is not None
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45047)
    await queue(2)
    await worker.run_once()
    text = await (await client.get("/metrics")).text()
    assert 'wecrm_outbox_sent_total{channel="oa"} 1.0' in text
    assert 'wecrm_outbox_failures_total{channel="oa",code="45047"} 1.0' in text
    assert "wecrm_outbox_backlog 1.0" in text
    assert "wecrm_outbox_oldest_pending_seconds" in text


async def test_template_and_media_upload(delivery: Delivery, fake_tencent: FakeTencent) -> None:
    assert delivery.oa is not None
    media_id = await delivery.oa.upload_media("image", "digest.png", b"\x89PNG fake chart")
    assert media_id.startswith("FAKE_MEDIA_")
    upload = fake_tencent.calls_to("/cgi-bin/media/upload")[0]
    assert upload.files["media"] == ("digest.png", 15)
    await enqueue(
        "template:1",
        "oa",
        OPENID,
        {"template": {"template_id": "TPL1", "data": {"first": {"value": "投诉已受理"}}}},
    )
    assert delivery.worker is not None
    await delivery.worker.run_once()
    sent = fake_tencent.sent_to("/cgi-bin/message/template/send")
    assert sent == [
        {"touser": OPENID, "template_id": "TPL1", "data": {"first": {"value": "投诉已受理"}}}
    ]


def test_cli_outbox_report_and_retry(db_url: str, tmp_path: Any) -> None:
    from tests.test_migrations_and_cli import run_cli, write_config

    async def setup() -> None:
        from bot import db as dbmod

        ctx = await dbmod.connect(db_url)
        try:
            await Outbox.all().delete()
            await enqueue("cli:1", "oa", OPENID, {"reply": {"text": "a"}})
            await enqueue("cli:2", "oa", "oGone", {"reply": {"text": "b"}})
            await Outbox.filter(dedup_key="cli:2").update(
                status=OutboxStatus.FAILED, attempts=8, last_error="43004 require subscribe"
            )
        finally:
            await dbmod.close(ctx)

    asyncio.run(setup())
    config = str(write_config(tmp_path, db_url))
    report = run_cli("--config", config, "outbox")
    assert report.returncode == 0, report.stderr
    assert "pending           1" in report.stdout and "failed            1" in report.stdout
    assert "43004 require subscribe" in report.stdout and "oGone" in report.stdout
    retry = run_cli("--config", config, "outbox", "retry", "--failed")
    assert "requeued 1" in retry.stdout
    assert "pending           2" in run_cli("--config", config, "outbox").stdout


async def test_bulk_pushes_are_spread_off_the_hour_mark(db: str) -> None:
    nine = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    for i in range(50):
        await enqueue(
            f"revisit:{i}:2026-11-25", "wecom", f"rep{i}", {"text": "回访"}, nine, bulk=True
        )
    times = [r.next_attempt_at for r in await Outbox.all()]
    assert all(nine + timedelta(minutes=3) <= t < nine + timedelta(minutes=13) for t in times)
    assert len(set(times)) > 40  # spread, not bunched
    # Deterministic per key, and a push away from the hour mark is left alone.
    assert bulk_send_time(nine, "revisit:0:2026-11-25") == times[0]
    later = nine + timedelta(minutes=20)
    assert bulk_send_time(later, "x") == later


async def test_unsubscribed_customers_get_no_pushes_until_they_return(
    app_client: AppFactory, fake_tencent: FakeTencent
) -> None:
    from tests.wechat_client import message_xml

    client = await app_client(**sections(fake_tencent))
    worker = client.app[DELIVERY].worker
    assert worker is not None
    wechat = sender_for(client)
    await Customer.create(name="张三", openid=OPENID)
    assert await wechat.send(message_xml("event", Event="unsubscribe", EventKey="")) is None
    assert (await Customer.get(openid=OPENID)).unreachable_at is not None
    await queue(1)
    await worker.run_once()
    parked = await row()
    assert parked.status == OutboxStatus.FAILED and "unsubscribed" in parked.last_error
    assert fake_tencent.sent_to(OA_CUSTOM_SEND) == []

    welcome = await wechat.send(message_xml("event", Event="subscribe", EventKey=""))
    assert welcome is not None and "欢迎" in welcome["Content"]
    assert (await Customer.get(openid=OPENID)).unreachable_at is None


async def test_a_slow_workers_late_outcome_does_not_overwrite_a_retake(
    db: str, fake_tencent: FakeTencent
) -> None:
    config = make_config(db, **sections(fake_tencent))
    slow, fast = Delivery(config, Metrics()), Delivery(config, Metrics())
    slow_worker, fast_worker = slow.build(), fast.build()
    try:
        await Customer.create(name="张三", openid=OPENID)
        await queue(1)
        start = datetime.now(UTC)
        with time_machine.travel(start, tick=False):
            claimed = await slow_worker.claim(start)  # ...and then stalls past its lease
        with time_machine.travel(start + timedelta(seconds=121), tick=False):
            assert await fast_worker.run_once() == 1
        sent = await row()
        assert sent.status == OutboxStatus.SENT and sent.attempts == 2  # lost try + retake
        fake_tencent.fail_next(OA_CUSTOM_SEND, 40003)
        await slow_worker._deliver(claimed[0])
        after = await row()
        assert after.status == OutboxStatus.SENT and after.platform_msg_id == sent.platform_msg_id
        assert (await Customer.get(openid=OPENID)).unreachable_at is None
    finally:
        await slow.close()
        await fast.close()


async def test_45015_while_the_user_is_writing_does_not_park_the_row(
    delivery: Delivery, fake_tencent: FakeTencent
) -> None:
    from models import ProcessedMessage

    assert delivery.worker is not None
    await queue(1)
    claimed = await delivery.worker.claim(datetime.now(UTC))
    # The user's message lands while the send is in flight.
    await ProcessedMessage.create(key=f"oa:{OPENID}:1", channel="oa", sender=OPENID)
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45015)
    await delivery.worker._deliver(claimed[0])
    assert (await row()).status == OutboxStatus.PENDING
    assert await delivery.worker.run_once() == 1
    assert (await row()).status == OutboxStatus.SENT


async def test_shutdown_with_a_send_in_flight_still_closes(
    db: str, fake_tencent: FakeTencent
) -> None:
    config = make_config(
        db,
        **sections(
            fake_tencent,
            outbox={"enabled": True, "request_timeout": 30},
            server={"shutdown_timeout": 0.2},
        ),
    )
    d = Delivery(config, Metrics())
    fake_tencent.delay_next(OA_CUSTOM_SEND, 30)
    await queue(1)
    d.start()
    await fake_tencent.wait_for_calls(OA_CUSTOM_SEND)
    await d.close()  # must neither hang for 30 s nor raise
    assert d.session is not None and d.session.closed
    fake_tencent.release_delays()
    # The row is not lost: still claimed, to be retaken after the lease.
    assert (await row()).status == OutboxStatus.SENDING
