"""Prometheus metrics, one registry per app so tests and several apps in one
process never share counters."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.requests = Counter(
            "wecrm_requests_total",
            "HTTP requests by channel and status code",
            ["channel", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wecrm_request_seconds",
            "HTTP request latency by channel",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4.5, 10),
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "wecrm_handler_seconds",
            "Time spent in a message handler",
            ["handler"],
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "wecrm_handler_errors_total",
            "Handler exceptions turned into apologies",
            ["handler"],
            registry=self.registry,
        )
        self.dedup_hits = Counter(
            "wecrm_dedup_hits_total",
            "Retries answered from the first reply instead of running the handler",
            ["channel"],
            registry=self.registry,
        )
        self.late_replies = Counter(
            "wecrm_late_replies_total",
            "Replies that missed the passive-reply deadline and went to the outbox",
            ["channel"],
            registry=self.registry,
        )
        self.outbox_sent = Counter(
            "wecrm_outbox_sent_total",
            "Outbox messages delivered",
            ["channel"],
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "wecrm_outbox_failures_total",
            "Failed delivery attempts by Tencent error code",
            ["channel", "code"],
            registry=self.registry,
        )
        self.outbox_oldest_pending = Gauge(
            "wecrm_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting to be sent",
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "wecrm_outbox_backlog",
            "Outbox rows not yet sent",
            registry=self.registry,
        )

    def labelled(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, kept for the next message: prometheus-client takes
        a lock and builds the key on every call, three times a message on the hot path.
        Label values are few (channels, status codes, handler names) and never removed."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def render(self) -> bytes:
        return generate_latest(self.registry)
