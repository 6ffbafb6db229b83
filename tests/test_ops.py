"""Operational endpoints: health, Prometheus metrics, request ids."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.wechat_client import WeChatSender, text_xml


async def test_healthz_checks_the_database(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert (body["status"], body["database"]) == ("ok", "ok") and body["pid"] > 0


async def test_metrics_count_requests_latency_and_dedup(
    client: TestClient, wechat: WeChatSender
) -> None:
    # A retry of a message that changed data is a dedup hit (帮助 would simply be
    # answered again: it changes nothing).
    xml = text_xml("投诉 快递三天了还没到")
    await wechat.send(xml)
    await wechat.send(xml)
    bad = await client.post("/wechat", params={"signature": "x"}, data=b"<xml/>")
    assert bad.status == 403
    text = await (await client.get("/metrics")).text()
    assert 'wecrm_requests_total{channel="oa",status="200"} 2.0' in text
    assert 'wecrm_requests_total{channel="oa",status="403"} 1.0' in text
    assert 'wecrm_request_seconds_count{channel="oa"} 3.0' in text
    assert 'wecrm_dedup_hits_total{channel="oa"} 1.0' in text
    assert "wecrm_handler_errors_total" in text
    assert "wecrm_outbox_backlog 0.0" in text


async def test_every_response_carries_a_request_id(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert len(resp.headers["X-Request-Id"]) >= 8
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert resp.headers["X-Request-Id"] == "abc123"


async def test_unknown_path_is_a_plain_404(client: TestClient) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
