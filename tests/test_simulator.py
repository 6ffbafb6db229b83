"""The simulator's HTTP side: the page and its assets, the identity list, sending
through the real pipeline, input validation, and the pushes the page polls for."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import METRICS, PIPELINE
from bot.channels.simulator import MAX_IMAGE_BYTES
from bot.context import Context
from bot.filters import Command
from bot.incoming import Article, Incoming, Reply
from bot.pipeline import LOST
from bot.router import Router
from handlers.fallback import UNSUPPORTED, WELCOME
from models import Customer, Outbox, ProcessedMessage, Staff
from models.enums import Role
from models.outbox import enqueue
from models.staff import create_invite
from tests.conftest import AppFactory
from tests.test_dedup_and_deadline import until

CHINESE = re.compile(r"[\u4e00-\u9fff]")
GUEST = "sim-guest-0123456789ab"


@pytest.fixture
async def sim(app_client: AppFactory) -> TestClient:
    return await app_client(simulator={"enabled": True})


async def say(client: TestClient, identity: str, text: str, **extra: Any) -> dict[str, Any]:
    resp = await client.post(
        "/simulator/api/send", json={"identity": identity, "text": text, **extra}
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["reply"]


async def push(recipient: str, text: str, channel: str = "simulator", key: str = "") -> int:
    assert await enqueue(
        key or f"test:{recipient}:{text}",
        channel=channel,
        recipient=recipient,
        payload={"reply": Reply(text=text).to_dict()},
    )
    row = await Outbox.get(dedup_key=key or f"test:{recipient}:{text}")
    return row.id


async def test_page_and_assets_are_served(sim: TestClient) -> None:
    resp = await sim.get("/simulator")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert "客户管理助手 · 模拟器" in html
    for marker in ('id="identity"', 'id="message"', 'id="send"', "输入消息，例如：帮助"):
        assert marker in html
    # No inline script may run: the page's script is a file of its own.
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<script>" not in html

    js = await sim.get("/simulator/static/simulator.js")
    assert js.status == 200 and js.content_type == "text/javascript"
    assert "textContent" in await js.text()
    css = await sim.get("/simulator/static/simulator.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert (await sim.get("/simulator/static/nope.js")).status == 404
    assert (await sim.get("/simulator/static/..%2Fsimulator.py")).status == 404

    slash = await sim.get("/simulator/", allow_redirects=False)
    assert slash.status == 302 and slash.headers["Location"] == "/simulator"


async def test_simulator_is_off_by_default(client: TestClient) -> None:
    for path in ("/simulator", "/simulator/api/identities", "/simulator/static/simulator.js"):
        assert (await client.get(path)).status == 404, path
    resp = await client.post("/simulator/api/send", json={"identity": GUEST, "text": "帮助"})
    assert resp.status == 404
    assert await ProcessedMessage.all().count() == 0


async def test_identities_lists_simulator_staff_and_customers(sim: TestClient) -> None:
    rep = await Staff.create(name="王五", role=Role.REP, simulator_id="sim-rep-1")
    await Staff.create(name="李经理", role=Role.MANAGER, simulator_id="sim-mgr-1")
    await Staff.create(name="赵六", role=Role.REP, oa_openid="oReal000001")  # no simulator id
    await Staff.create(name="离职", role=Role.REP, simulator_id="sim-gone", active=False)
    await Customer.create(name="张三", openid="sim-c1")
    await Customer.create(name="真实客户", openid="oRealCustomer0001")
    await Customer.create(name="大写", openid="SIM-upper")  # SQLite LIKE ignores case
    await Customer.create(name="无openid")

    resp = await sim.get("/simulator/api/identities")
    assert resp.status == 200
    assert await resp.json() == [
        {"id": "sim-rep-1", "label": "王五（销售）", "role": "rep"},
        {"id": "sim-mgr-1", "label": "李经理（主管）", "role": "manager"},
        {"id": "sim-c1", "label": "张三（客户）", "role": "customer"},
    ]
    assert rep.simulator_id == "sim-rep-1"


async def test_send_goes_through_the_pipeline(sim: TestClient) -> None:
    stranger = await say(sim, GUEST, "帮助")
    assert stranger["kind"] == "text"
    assert "绑定" in stranger["text"]

    await Staff.create(name="王五", role=Role.REP, simulator_id="sim-rep-1")
    staff = await say(sim, "sim-rep-1", "帮助")
    assert "你可以发送以下命令" in staff["text"]

    await Customer.create(name="张三", openid="sim-c1")
    customer = await say(sim, "sim-c1", "帮助")
    assert "有任何问题都可以直接留言" in customer["text"]


async def test_bind_through_the_simulator_makes_simulator_staff(sim: TestClient) -> None:
    invite = await create_invite("rep", "王五", created_by="test", ttl=timedelta(hours=1))
    reply = await say(sim, GUEST, f"绑定 {invite.code}")
    assert "绑定成功" in reply["text"] and "王五" in reply["text"]
    staff = await Staff.get(simulator_id=GUEST)
    assert staff.name == "王五" and staff.role == Role.REP
    assert "你可以发送以下命令" in (await say(sim, GUEST, "帮助"))["text"]
    identities = await (await sim.get("/simulator/api/identities")).json()
    assert {"id": GUEST, "label": "王五（销售）", "role": "rep"} in identities


async def test_a_repeated_msg_id_is_one_message(sim: TestClient) -> None:
    """The page sends its own msg_id so a resent request is deduplicated like a WeChat retry."""
    invite = await create_invite("rep", "王五", created_by="test", ttl=timedelta(hours=1))
    first = await say(sim, GUEST, f"绑定 {invite.code}", msg_id="web-1")
    again = await say(sim, GUEST, f"绑定 {invite.code}", msg_id="web-1")
    assert first == again and "绑定成功" in first["text"]
    assert await Staff.filter(simulator_id=GUEST).count() == 1
    # Without an id from the client the server makes one: a new message every time.
    await say(sim, "sim-c1", "投诉 快递三天了还没到")
    await say(sim, "sim-c1", "投诉 发票开错了")
    assert await ProcessedMessage.filter(sender="sim-c1").count() == 2


async def test_text_of_exactly_the_limit_is_accepted(sim: TestClient) -> None:
    reply = await say(sim, GUEST, "字" * 2000)
    assert reply["kind"] == "text"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"not json", {}, id="not-json"),
        pytest.param(b"\xff\xfe", {}, id="not-utf8"),
        pytest.param(b"[1, 2]", {}, id="json-array"),
        pytest.param(b"", {}, id="empty-body"),
        pytest.param({"text": "帮助"}, {}, id="no-identity"),
        pytest.param({"identity": "", "text": "帮助"}, {}, id="empty-identity"),
        pytest.param({"identity": 42, "text": "帮助"}, {}, id="identity-not-string"),
        pytest.param({"identity": "sim guest", "text": "帮助"}, {}, id="identity-space"),
        pytest.param({"identity": "<script>", "text": "帮助"}, {}, id="identity-markup"),
        pytest.param({"identity": "王五", "text": "帮助"}, {}, id="identity-non-ascii"),
        pytest.param({"identity": "x" * 65, "text": "帮助"}, {}, id="identity-too-long"),
        pytest.param({"identity": GUEST}, {}, id="no-text"),
        pytest.param({"identity": GUEST, "text": ""}, {}, id="empty-text"),
        pytest.param({"identity": GUEST, "text": " \n\t "}, {}, id="blank-text"),
        pytest.param({"identity": GUEST, "text": ["帮助"]}, {}, id="text-not-string"),
        pytest.param({"identity": GUEST, "text": "字" * 2001}, {}, id="text-too-long"),
        pytest.param({"identity": GUEST, "text": "帮助", "msg_id": "a b"}, {}, id="bad-msg-id"),
        pytest.param({"identity": GUEST, "text": "帮助", "msg_id": 7}, {}, id="msg-id-number"),
    ],
)
async def test_bad_send_is_a_400_in_chinese(
    sim: TestClient, body: bytes | dict[str, Any], headers: dict[str, str]
) -> None:
    if isinstance(body, dict):
        resp = await sim.post("/simulator/api/send", json=body)
    else:
        resp = await sim.post(
            "/simulator/api/send", data=body, headers={"Content-Type": "application/json"}
        )
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert CHINESE.search(error), error
    assert await ProcessedMessage.all().count() == 0


async def test_oversized_body_is_a_413_in_chinese(sim: TestClient) -> None:
    big = b'{"identity": "sim-x", "text": "' + b"a" * 70_000 + b'"}'
    resp = await sim.post(
        "/simulator/api/send", data=big, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert CHINESE.search((await resp.json())["error"])


async def test_pipeline_failure_is_a_503_in_chinese(
    sim: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(msg: Incoming) -> Reply:
        raise ConnectionError("database went away")

    monkeypatch.setattr(sim.app[PIPELINE], "process", broken)
    resp = await sim.post("/simulator/api/send", json={"identity": GUEST, "text": "帮助"})
    assert resp.status == 503
    body = await resp.json()
    assert CHINESE.search(body["error"]) and "database" not in body["error"]
    assert body["request_id"] == resp.headers["X-Request-Id"]


async def test_pushes_filter_by_identity_channel_and_after(sim: TestClient) -> None:
    first = await push(GUEST, "第一条")
    await push("sim-other", "别人的")
    await push(GUEST, "公众号的", channel="oa", key="oa-row")
    second = await push(GUEST, "第二条")

    async def pushes(query: str) -> list[dict[str, Any]]:
        resp = await sim.get(f"/simulator/api/pushes?{query}")
        assert resp.status == 200
        return await resp.json()

    rows = await pushes(f"identity={GUEST}")
    assert [r["id"] for r in rows] == [first, second]
    assert [r["reply"]["text"] for r in rows] == ["第一条", "第二条"]
    assert rows[0]["reply"] == Reply(text="第一条").to_dict()
    assert await pushes(f"identity={GUEST}&after=0") == rows
    assert [r["id"] for r in await pushes(f"identity={GUEST}&after={first}")] == [second]
    assert await pushes(f"identity={GUEST}&after={second}") == []
    assert [r["reply"]["text"] for r in await pushes("identity=sim-other")] == ["别人的"]
    assert await pushes("identity=sim-nobody") == []


async def test_unreadable_push_payload_becomes_none(sim: TestClient) -> None:
    await enqueue("odd", channel="simulator", recipient=GUEST, payload={"something": "else"})
    news = Reply(kind="news", articles=[Article(title="新品", url="https://example.com")])
    await enqueue("news", channel="simulator", recipient=GUEST, payload={"reply": news.to_dict()})
    rows = await (await sim.get(f"/simulator/api/pushes?identity={GUEST}")).json()
    assert [r["reply"]["kind"] for r in rows] == ["none", "news"]
    assert rows[1]["reply"]["articles"][0]["title"] == "新品"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "identity=",
        "identity=a%20b",
        f"identity={'x' * 65}",
        f"identity={GUEST}&after=x",
        f"identity={GUEST}&after=-1",
        f"identity={GUEST}&after=1.5",
        f"identity={GUEST}&after=99999999999999999999999",
    ],
)
async def test_bad_pushes_query_is_a_400_in_chinese(sim: TestClient, query: str) -> None:
    resp = await sim.get(f"/simulator/api/pushes?{query}")
    assert resp.status == 400
    assert CHINESE.search((await resp.json())["error"])


async def test_a_late_reply_becomes_a_push(app_client: AppFactory) -> None:
    """A handler slower than the deadline answers nothing now and a push later."""
    # As long as the other late-reply tests: the sender read alone may take 50 ms on a
    # loaded machine, and a deadline shorter than that is "the database did not answer".
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    release = asyncio.Event()
    router = Router("slow")

    @router.message(Command("慢"))
    async def slow(msg: Incoming, ctx: Context) -> str:
        await release.wait()
        return "慢回复完成"

    pipeline = sim.app[PIPELINE]
    pipeline.dispatcher.include_router(router, first=True)
    # The app's first message opens its pool connection and prepares the sender read:
    # on PostgreSQL under a full suite that alone once took past the 0.2 s, and the
    # message was refused as "the database did not answer" instead of going late.
    await say(sim, GUEST, "帮助")

    reply = await say(sim, GUEST, "慢")
    assert reply["kind"] == "none"
    release.set()
    await pipeline.drain(wait=5)

    rows = await (await sim.get(f"/simulator/api/pushes?identity={GUEST}")).json()
    assert [r["reply"]["text"] for r in rows] == ["慢回复完成"]


SLOW_ID = "slow-commit-1"


class SlowNote:
    """「记」, a writing handler (one outbox row 「mark:」) that can be held before it
    answers (``handler``) and at its commit (``commit``: held at the dedup record, the
    transaction's last write), and whose commit can fail (``fail``)."""

    def __init__(self, sim: TestClient) -> None:
        self.sim, self.fail = sim, False
        self.handler, self.commit = asyncio.Event(), asyncio.Event()
        self.handler.set()
        router = Router("slow-commit")

        @router.message(Command("记"))
        async def note(msg: Incoming, ctx: Context) -> str:
            await enqueue(f"mark:{msg.dedup_key}", channel="simulator", recipient="x", payload={})
            await self.handler.wait()
            return "已记录"

        self.pipeline = pipeline = sim.app[PIPELINE]
        pipeline.dispatcher.include_router(router, first=True)
        record = pipeline.dedup.record

        async def slow_record(incoming: Incoming, reply: Reply, **kw: Any) -> None:
            await self.commit.wait()
            if self.fail:
                raise OSError("disk I/O error")
            await record(incoming, reply, **kw)

        pipeline.dedup.record = slow_record  # type: ignore[method-assign]

    async def send(self) -> dict[str, Any]:
        return await say(self.sim, GUEST, "记", msg_id=SLOW_ID)

    async def pushes(self) -> list[str]:
        rows = await (await self.sim.get(f"/simulator/api/pushes?identity={GUEST}")).json()
        return [r["reply"]["text"] for r in rows]


async def _elsewhere(note: SlowNote) -> dict[str, Any]:
    """``note``'s message sent again as to another worker: no flight of it there."""
    pipeline = note.pipeline
    flights, pipeline._flights = pipeline._flights, {}
    try:
        return await note.send()
    finally:
        pipeline._flights = flights


async def _answered_in_time(sim: TestClient) -> SlowNote:
    """A 「记」 answered and committed in time, whose answer WeChat then lost: its retries
    find the record."""
    note = SlowNote(sim)
    note.commit.set()
    await say(sim, GUEST, "帮助")  # the first message opens the connection (see above)
    assert (await note.send())["text"] == "已记录"
    return note


async def _slow_commit(sim: TestClient, fail: bool) -> SlowNote:
    """A 「记」 whose commit is held past the deadline and its grace, answered nothing."""
    note = SlowNote(sim)
    note.fail = fail
    await say(sim, GUEST, "帮助")  # the first message opens the connection (see above)
    assert (await note.send())["kind"] == "none"
    return note


@pytest.mark.parametrize(
    ("commit_fails", "pushed", "rows_kept"),
    [
        # 「已记录」 is not answered before it is true: it follows once committed.
        (False, "已记录", 1),
        # The user, answered nothing at the deadline, learns the message was lost.
        (True, LOST, 0),
    ],
    ids=["committed", "commit-failed"],
)
async def test_a_reply_still_committing_at_the_deadline_is_pushed_once_its_fate_is_known(
    app_client: AppFactory, commit_fails: bool, pushed: str, rows_kept: int
) -> None:
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _slow_commit(sim, fail=commit_fails)
    note.commit.set()
    await note.pipeline.drain(wait=5)

    assert await note.pushes() == [pushed]
    assert await Outbox.filter(dedup_key__startswith="mark:").count() == rows_kept


async def test_a_retry_while_or_after_the_reply_commits_answers_nothing(
    app_client: AppFactory,
) -> None:
    """The reply goes out as a push: a retry of the message (WeChat's, when the first
    ``success`` was lost), meanwhile or once it is over, answers nothing, not the same
    text a second time, and the handler is not run again."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _slow_commit(sim, fail=False)
    registry = sim.app[METRICS].registry
    retry = asyncio.create_task(note.send())
    # The retry waits for the first request of its message, then the commit ends.
    await until(
        lambda: registry.get_sample_value("wecrm_dedup_hits_total", {"channel": "simulator"})
    )
    note.commit.set()
    assert (await retry)["kind"] == "none"
    await note.pipeline.drain(wait=5)
    # And once it is all over: the stored outcome says the reply was pushed.
    assert (await note.send())["kind"] == "none"

    assert await note.pushes() == ["已记录"]
    assert await Outbox.filter(dedup_key__startswith="mark:").count() == 1


async def test_a_retry_another_worker_answers_before_the_push_takes_the_reply_from_it(
    app_client: AppFactory,
) -> None:
    """Between the message's commit and its push, a retry that reaches another worker
    (no flight of the message there) is answered the text: it is then not pushed too."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _slow_commit(sim, fail=False)
    pipeline, pushing, go = note.pipeline, asyncio.Event(), asyncio.Event()
    push = pipeline._push

    async def held_push(msg: Incoming, reply: Reply, *args: Any) -> None:
        pushing.set()
        await go.wait()
        await push(msg, reply, *args)

    pipeline._push = held_push  # type: ignore[method-assign]
    note.commit.set()
    await pushing.wait()
    retry = await _elsewhere(note)  # as in another worker
    go.set()
    await pipeline.drain(wait=5)

    assert retry["text"] == "已记录"
    assert await note.pushes() == []


async def test_a_committed_reply_whose_push_fails_once_is_pushed_all_the_same(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    monkeypatch.setattr("bot.pipeline.PUSH_RETRY_DELAYS", (0.0, 0.0))
    note = await _slow_commit(sim, fail=False)
    hand_over, failures = note.pipeline.dedup.hand_over_to_push, [OSError("database is locked")]

    async def busy_once(msg: Incoming, *args: Any) -> bool:
        if failures:
            raise failures.pop()
        return await hand_over(msg, *args)

    note.pipeline.dedup.hand_over_to_push = busy_once  # type: ignore[method-assign]
    note.commit.set()
    await note.pipeline.drain(wait=5)

    assert await note.pushes() == ["已记录"]
    assert not failures


async def _retry_on_another_worker(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[SlowNote, asyncio.Event, list[Incoming]]:
    """PostgreSQL: a 「记」 answered nothing, its commit held; WeChat's retry reaches
    another worker, runs the handler too (its rows under keys of their own) and answers
    nothing as well. Pushes wait for the event; the list holds those asked for."""
    from models.rawsql import dialect

    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    if dialect() != "postgres":
        pytest.skip("PostgreSQL: a retry's handler runs while the first one commits")
    note = await _slow_commit(sim, fail=False)
    pipeline, go, pushes_held = note.pipeline, asyncio.Event(), []
    push = pipeline._push

    async def held_push(msg: Incoming, reply: Reply, *args: Any) -> None:
        pushes_held.append(msg)
        await go.wait()
        await push(msg, reply, *args)

    pipeline._push = held_push  # type: ignore[method-assign]
    real_enqueue = enqueue

    async def own_row(key: str, **kw: Any) -> bool:  # the retry's own rows
        return await real_enqueue(key + ":retry", **kw)

    monkeypatch.setattr("tests.test_simulator.enqueue", own_row)
    assert (await _elsewhere(note))["kind"] == "none"  # as in another worker
    return note, go, pushes_held


async def test_a_retry_that_answered_nothing_either_pushes_the_reply_it_found(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeChat's retry reaches another worker while the first request's commit is held:
    it runs the handler too, its own commit waits past its deadline, and it answers
    nothing as well; whichever commits first, the other then finds its record. One of
    the two pushes the reply — not neither, not both. (On SQLite the retry cannot run
    its handler while the first holds the write lock: it is answered 「系统繁忙」,
    unclaimed.)"""
    note, go, pushes_held = await _retry_on_another_worker(app_client, monkeypatch)
    requests = set(note.pipeline._background)  # the two, both answered nothing
    note.commit.set()
    # Each is done or about to push: the first to commit pushes its reply, and the
    # other asks to as well if it arrived later (one compare-and-set of the two wins).
    await until(lambda: len(pushes_held) + sum(t.done() for t in requests) == 2)
    go.set()
    await note.pipeline.drain(wait=5)

    assert await note.pushes() == ["已记录"]
    # The retry's own rows were rolled back with its record: the message counts once.
    assert await Outbox.filter(dedup_key__startswith="mark:").count() == 1


async def test_a_retry_that_answered_nothing_leaves_a_reply_a_later_retry_answered(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry on another worker runs the handler while the first request's commit is
    held, and answers nothing; by the time it finds the first's record, WeChat's next
    retry has been answered the text. The user has it: the earlier retry pushes nothing,
    nor does the first request."""
    note, go, _ = await _retry_on_another_worker(app_client, monkeypatch)
    pipeline, reads, read = note.pipeline, [], note.pipeline.dedup.reply_of_first

    async def held_read(duplicate: Any, **kw: Any) -> Any:
        if not kw["take"]:  # the retry that answered nothing
            reads.append(duplicate)
            await go.wait()
        return await read(duplicate, **kw)

    pipeline.dedup.reply_of_first = held_read  # type: ignore[method-assign]
    note.commit.set()
    await until(lambda: reads)  # it met the first's key, and is about to read the record
    later = await _elsewhere(note)  # WeChat's next retry, elsewhere
    go.set()
    await pipeline.drain(wait=5)

    assert later["text"] == "已记录"
    assert await note.pushes() == []


@pytest.mark.parametrize("answered_before", [False, True], ids=["first-retry", "later-retry"])
async def test_a_retry_that_waits_for_another_process_to_write_is_answered_by_push(
    app_client: AppFactory, answered_before: bool
) -> None:
    """A retry of a message answered in time (WeChat's, the answer lost on the way)
    while another process holds SQLite's write lock past the retry's deadline: it is
    not told 「系统繁忙」 for a message that was saved — the reply follows as a push. So
    too when an earlier retry was answered the text: WeChat retried again, so that
    answer was lost as well."""
    from tortoise import Tortoise

    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    database = getattr(Tortoise.get_connection("default"), "filename", None)
    if database is None:
        pytest.skip("SQLite's write lock")
    note = await _answered_in_time(sim)
    if answered_before:
        assert (await note.send())["text"] == "已记录"
    other = sqlite3.connect(database, isolation_level=None)  # another worker, a CLI import
    other.execute("BEGIN IMMEDIATE")
    try:
        assert (await note.send())["kind"] == "none"
    finally:
        other.execute("ROLLBACK")
        other.close()
    await note.pipeline.drain(wait=5)

    assert await note.pushes() == ["已记录"]
    assert (await note.send())["kind"] == "none"  # and the record now says so


def _first_take_held(
    note: SlowNote, monkeypatch: pytest.MonkeyPatch, *, hold: bool = True
) -> asyncio.Event:
    """The next retry of ``note``'s message runs the handler (the first's record not yet
    visible to its sender read) and meets the first's key at its own record; its take of
    the stored reply is then held until the event is set (``hold``). Later retries see
    the record."""
    import bot.pipeline
    from bot.dedup import Duplicate

    pipeline, release = note.pipeline, asyncio.Event()
    take, takes = pipeline.dedup.reply_of_first, []

    async def meets_the_first(incoming: Incoming, reply: Reply, **kw: Any) -> None:
        raise Duplicate(incoming.dedup_key)

    async def slow_take(duplicate: Duplicate, **kw: Any) -> Any:
        found = await take(duplicate, **kw)
        takes.append(found)
        if hold and len(takes) == 1:
            await release.wait()
        return found

    load, loads = bot.pipeline.load_inbound, []

    async def first_unseen(**kw: Any) -> Any:
        inbound = await load(**kw)
        loads.append(inbound)
        if len(loads) == 1:
            inbound.handled = None
        return inbound

    pipeline.dedup.record = meets_the_first  # type: ignore[method-assign]
    pipeline.dedup.reply_of_first = slow_take  # type: ignore[method-assign]
    monkeypatch.setattr(bot.pipeline, "load_inbound", first_unseen)
    return release


async def test_a_retry_whose_take_outlasts_the_commit_grace_pushes_the_reply(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry's take of the stored reply outlasts its deadline and the commit's grace:
    its request answered nothing, so the reply it took is pushed."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _answered_in_time(sim)
    release = _first_take_held(note, monkeypatch)
    assert (await note.send())["kind"] == "none"
    release.set()
    await note.pipeline.drain(wait=5)

    assert await note.pushes() == ["已记录"]


async def test_a_later_retry_takes_the_reply_over_from_a_taker_that_answered_nothing(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a retry that took the stored reply answered nothing (its take outlasted its
    deadline), WeChat's next retry reaches another worker: that one is answered the
    text, and the first's push then finds the reply taken — the user gets it once, not
    as an answer and a push."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _answered_in_time(sim)
    release = _first_take_held(note, monkeypatch)
    pipeline = note.pipeline
    assert (await note.send())["kind"] == "none"
    later = await _elsewhere(note)  # as in another worker
    release.set()
    await pipeline.drain(wait=5)

    assert later["text"] == "已记录"
    assert await note.pushes() == []


async def test_a_retry_that_met_the_key_takes_the_reply_over_from_one_that_arrived_before(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry took the stored reply and answered it; a retry that arrived after it (its
    sender read still too early to see the record: the first's commit was slow) meets
    the key at its own insert and finds the reply taken. WeChat retried, so the earlier
    answer did not reach it, and it listens to the later request: that one is answered
    the text, not 「success」 — whatever the delays on the way in made of the order."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _answered_in_time(sim)
    assert (await note.send())["text"] == "已记录"  # the earlier retry, answered
    _first_take_held(note, monkeypatch, hold=False)
    later = await note.send()
    await note.pipeline.drain(wait=5)

    assert later["text"] == "已记录"
    assert await note.pushes() == []


async def test_a_retry_whose_take_fails_after_it_answered_nothing_pushes_the_reply(
    app_client: AppFactory,
) -> None:
    """A retry's take of the stored reply waits past its deadline (it answers nothing)
    and then fails — another process held the write lock past the wait: the reply, saved
    all along, is pushed as the record has it, not lost with the take."""
    from tortoise.exceptions import OperationalError

    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _answered_in_time(sim)
    pipeline, release = note.pipeline, asyncio.Event()
    read = pipeline.dedup.reply_of_first

    async def failing_take(duplicate: Any, **kw: Any) -> Any:
        if kw["take"]:
            await release.wait()
            raise OperationalError("database is locked")
        return await read(duplicate, **kw)

    pipeline.dedup.reply_of_first = failing_take  # type: ignore[method-assign]
    assert (await note.send())["kind"] == "none"
    release.set()
    await pipeline.drain(wait=5)

    assert await note.pushes() == ["已记录"]


async def test_an_earlier_retry_leaves_the_reply_a_later_one_took_before_it(
    app_client: AppFactory,
) -> None:
    """Two retries of a message answered in time: the earlier one's take is slowed past
    its deadline, and the later one, on another worker, takes the reply first and is
    answered it. The earlier one then finds it taken by a request that arrived after it:
    it pushes nothing (WeChat listens to the later one, which has the text)."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = await _answered_in_time(sim)
    pipeline, release, calls = note.pipeline, asyncio.Event(), []
    read = pipeline.dedup.reply_of_first

    async def first_held(duplicate: Any, **kw: Any) -> Any:
        calls.append(duplicate)
        if len(calls) == 1:
            await release.wait()
        return await read(duplicate, **kw)

    pipeline.dedup.reply_of_first = first_held  # type: ignore[method-assign]
    assert (await note.send())["kind"] == "none"
    later = await _elsewhere(note)  # the next retry, elsewhere
    release.set()
    await pipeline.drain(wait=5)

    assert later["text"] == "已记录"
    assert await note.pushes() == []


@pytest.mark.parametrize(
    ("third_here", "pushed"), [(False, []), (True, ["已记录"])], ids=["two", "three"]
)
async def test_a_first_request_that_answered_nothing_leaves_a_retry_that_committed_first(
    app_client: AppFactory, monkeypatch: pytest.MonkeyPatch, third_here: bool, pushed: list[str]
) -> None:
    """The first request of a message answers nothing while its record waits; WeChat's
    retry, on another worker, runs the handler, commits first and is answered the text.
    The first then meets the retry's key: the reply is the retry's, delivered — it is
    not pushed as well. Unless WeChat retried a third time (the second's answer was
    lost too) and that request reached the first's worker, which answered it nothing:
    the first pushes the reply for it. (On SQLite the first holds the write lock.)"""
    from models.rawsql import dialect

    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    if dialect() != "postgres":
        pytest.skip("PostgreSQL: a retry's handler runs while the first one commits")
    note = SlowNote(sim)
    note.commit.set()
    pipeline, go, records = note.pipeline, asyncio.Event(), []
    record = pipeline.dedup.record

    async def first_held(incoming: Incoming, reply: Reply, **kw: Any) -> None:
        records.append(incoming)
        if len(records) == 1:
            await go.wait()
        await record(incoming, reply, **kw)

    pipeline.dedup.record = first_held  # type: ignore[method-assign]
    real_enqueue = enqueue

    async def own_row(key: str, **kw: Any) -> bool:  # the retry's own rows
        return await real_enqueue(key + ":retry", **kw)

    await say(sim, GUEST, "帮助")  # the first message opens the connection
    assert (await note.send())["kind"] == "none"
    monkeypatch.setattr("tests.test_simulator.enqueue", own_row)
    retry = await _elsewhere(note)  # as in another worker
    if third_here:
        assert (await note.send())["kind"] == "none"  # waits on the first, here
    go.set()
    await pipeline.drain(wait=5)

    assert retry["text"] == "已记录"
    assert await note.pushes() == pushed


async def test_a_late_message_whose_commit_fails_pushes_the_apology_and_its_retry_its_reply(
    app_client: AppFactory,
) -> None:
    """Answered nothing at the deadline and then lost: the user is told to resend. A
    retry of the message (WeChat's, the first answer lost) that goes late itself still
    has its own reply pushed."""
    sim = await app_client(simulator={"enabled": True}, bot={"reply_deadline": 0.2})
    note = SlowNote(sim)
    note.commit.set()
    note.handler.clear()  # slow to answer: late, the reply for the outbox
    note.fail = True
    await say(sim, GUEST, "帮助")
    assert (await note.send())["kind"] == "none"
    note.handler.set()
    await note.pipeline.drain(wait=5)
    assert await note.pushes() == [LOST]
    assert await Outbox.filter(dedup_key__startswith="mark:").count() == 0

    note.fail = False
    note.handler.clear()
    assert (await note.send())["kind"] == "none"
    note.handler.set()
    await note.pipeline.drain(wait=5)
    assert await note.pushes() == [LOST, "已记录"]
    assert await Outbox.filter(dedup_key__startswith="mark:").count() == 1


# --- events, pictures and voice ---------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


async def event(client: TestClient, identity: str, name: str, **extra: Any) -> dict[str, Any]:
    resp = await client.post(
        "/simulator/api/event", json={"identity": identity, "event": name, **extra}
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["reply"]


async def picture(client: TestClient, data: bytes, mime: str = "image/png", **query: str) -> Any:
    return await client.post(
        "/simulator/api/image",
        params={"identity": GUEST, **query},
        data=data,
        headers={"Content-Type": mime},
    )


def capture(sim: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[Incoming]:
    """Record what the channel hands the pipeline, and still run it."""
    pipeline = sim.app[PIPELINE]
    seen: list[Incoming] = []
    real = pipeline.process

    async def spy(msg: Incoming) -> Reply:
        seen.append(msg)
        return await real(msg)

    monkeypatch.setattr(pipeline, "process", spy)
    return seen


async def test_subscribe_event_is_answered_with_the_welcome(
    sim: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(sim, monkeypatch)
    reply = await event(sim, GUEST, "subscribe")
    assert reply == {"kind": "text", "text": WELCOME, "media_id": "", "articles": []}
    assert await event(sim, GUEST, "unsubscribe") == Reply.none().to_dict()
    msg = seen[0]
    assert (msg.sender, msg.kind, msg.event) == (GUEST, "event", "subscribe")
    # Like the Official Account's events: no MsgId, deduplicated by time and event.
    assert msg.msg_id == "" and msg.create_time > 0
    assert msg.dedup_key == f"simulator:{GUEST}:{msg.create_time}:subscribe"
    assert await ProcessedMessage.filter(sender=GUEST).count() == 2


async def test_a_repeated_event_msg_id_is_one_event(sim: TestClient) -> None:
    first = await event(sim, GUEST, "subscribe", msg_id="web-ev-1")
    again = await event(sim, GUEST, "SUBSCRIBE", msg_id="web-ev-1")
    assert first == again and first["text"] == WELCOME
    assert await ProcessedMessage.filter(sender=GUEST).count() == 1


async def test_a_wecom_identity_subscribes_on_the_wecom_channel(
    sim: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(sim, monkeypatch)
    # An unknown WeCom member is told how to bind, as on WeCom itself.
    assert "绑定" in (await event(sim, "wecom:zhangwei", "subscribe"))["text"]
    assert (seen[0].channel, seen[0].sender) == ("wecom", "zhangwei")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"event": "subscribe"}, id="no-identity"),
        pytest.param({"identity": "a b", "event": "subscribe"}, id="bad-identity"),
        pytest.param({"identity": GUEST}, id="no-event"),
        pytest.param({"identity": GUEST, "event": ""}, id="empty-event"),
        pytest.param({"identity": GUEST, "event": "click"}, id="unknown-event"),
        pytest.param({"identity": GUEST, "event": ["subscribe"]}, id="event-not-string"),
        pytest.param({"identity": GUEST, "event": "subscribe", "msg_id": "a b"}, id="bad-msg-id"),
        pytest.param([GUEST, "subscribe"], id="json-array"),
    ],
)
async def test_bad_event_is_a_400_in_chinese(sim: TestClient, body: Any) -> None:
    resp = await sim.post("/simulator/api/event", json=body)
    assert resp.status == 400
    assert CHINESE.search((await resp.json())["error"])
    assert await ProcessedMessage.all().count() == 0


async def test_a_picture_becomes_an_image_message(
    sim: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(sim, monkeypatch)
    resp = await picture(sim, PNG, msg_id="web-img-1")
    assert resp.status == 200, await resp.text()
    reply = (await resp.json())["reply"]
    # The visitor has no handler for pictures: the fallback's polite word, as on WeChat.
    assert reply["text"] == UNSUPPORTED.format(what="图片")
    msg = seen[0]
    assert (msg.channel, msg.sender, msg.kind, msg.msg_id) == (
        "simulator",
        GUEST,
        "image",
        "web-img-1",
    )
    assert re.fullmatch(r"sim-media-[0-9a-f]{24}", msg.media_id), msg.media_id

    # A resent request is the same message; a JPEG is fine as well.
    again = await picture(sim, PNG, msg_id="web-img-1")
    assert (await again.json())["reply"] == reply
    assert (await picture(sim, JPEG, "image/jpeg")).status == 200
    assert seen[2].media_id != msg.media_id


async def test_a_picture_at_the_size_limit_is_accepted(sim: TestClient) -> None:
    data = PNG + b"\x00" * (MAX_IMAGE_BYTES - len(PNG))
    assert (await picture(sim, data)).status == 200


@pytest.mark.parametrize(
    ("data", "mime", "query", "status"),
    [
        pytest.param(PNG, "image/gif", {}, 400, id="gif"),
        pytest.param(PNG, "application/octet-stream", {}, 400, id="octet-stream"),
        pytest.param(PNG, "", {}, 400, id="no-type"),
        pytest.param(b"", "image/png", {}, 400, id="empty"),
        pytest.param(b"GIF89a" + b"\x00" * 64, "image/png", {}, 400, id="gif-as-png"),
        pytest.param(PNG, "image/jpeg", {}, 400, id="png-as-jpeg"),
        pytest.param(PNG, "image/png", {"identity": ""}, 400, id="no-identity"),
        pytest.param(PNG, "image/png", {"identity": "<x>"}, 400, id="bad-identity"),
        pytest.param(PNG, "image/png", {"msg_id": "a b"}, 400, id="bad-msg-id"),
        pytest.param(PNG + b"\x00" * MAX_IMAGE_BYTES, "image/png", {}, 413, id="too-large"),
    ],
)
async def test_bad_picture_is_refused_in_chinese(
    sim: TestClient, data: bytes, mime: str, query: dict[str, str], status: int
) -> None:
    resp = await picture(sim, data, mime, **query)
    assert resp.status == status
    assert CHINESE.search((await resp.json())["error"])
    assert await ProcessedMessage.all().count() == 0


async def test_a_chunked_picture_over_the_limit_is_refused(sim: TestClient) -> None:
    """No Content-Length to check up front: the cap holds while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        yield PNG
        for _ in range(3):
            yield b"\x00" * (MAX_IMAGE_BYTES // 2)

    resp = await sim.post(
        "/simulator/api/image",
        params={"identity": GUEST},
        data=chunks(),
        headers={"Content-Type": "image/png"},
    )
    assert resp.status == 413
    assert "图片太大" in (await resp.json())["error"]


async def test_voice_carries_its_recognition_text(
    sim: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(sim, monkeypatch)
    await Staff.create(name="王五", role=Role.REP, simulator_id="sim-rep-1")
    reply = await say(sim, "sim-rep-1", "帮助", kind="voice", msg_id="web-v-1")
    # Said or typed, 帮助 is 帮助.
    assert "你可以发送以下命令" in reply["text"]
    msg = seen[0]
    assert (msg.kind, msg.text, msg.msg_id) == ("voice", "帮助", "web-v-1")
    assert msg.media_id.startswith("sim-media-") and msg.extra == {"Format": "amr"}
    # Retried: one message.
    assert await say(sim, "sim-rep-1", "帮助", kind="voice", msg_id="web-v-1") == reply


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"identity": GUEST, "text": "帮助", "kind": "image"}, id="kind-image"),
        pytest.param({"identity": GUEST, "text": "帮助", "kind": "event"}, id="kind-event"),
        pytest.param({"identity": GUEST, "text": "帮助", "kind": 1}, id="kind-number"),
        pytest.param({"identity": GUEST, "text": "帮助", "kind": ["voice"]}, id="kind-list"),
        pytest.param({"identity": GUEST, "text": " ", "kind": "voice"}, id="voice-blank"),
        pytest.param({"identity": GUEST, "text": "字" * 2001, "kind": "voice"}, id="voice-long"),
    ],
)
async def test_bad_kind_or_voice_is_a_400_in_chinese(sim: TestClient, body: dict[str, Any]) -> None:
    resp = await sim.post("/simulator/api/send", json=body)
    assert resp.status == 400
    assert CHINESE.search((await resp.json())["error"])
    assert await ProcessedMessage.all().count() == 0
