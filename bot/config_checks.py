"""What each configuration value must be: the checks :func:`bot.config.load_config`
runs before anything starts, and the parsers of the values written as text (clock
times, date lists, occasions), shared with the code that uses those values."""

from __future__ import annotations

import dataclasses
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import (
    CampaignsConfig,
    CareConfig,
    ComplaintsConfig,
    Config,
    ConfigError,
    GradingConfig,
    SurveyConfig,
    WecomConfig,
)


def validate(cfg: Config) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot be."""
    if cfg.wechat.mode not in {"plain", "compatible", "safe"}:
        raise ConfigError(
            f"wechat.mode: expected plain, compatible or safe, got {cfg.wechat.mode!r}"
        )
    if not cfg.wechat.token:
        raise ConfigError("wechat.token: required (the Token set in the Official Account console)")
    if cfg.wechat.mode != "plain":
        key = cfg.wechat.encoding_aes_key
        if len(key) != 43:
            raise ConfigError(
                "wechat.encoding_aes_key: expected the 43-character EncodingAESKey "
                f"for mode {cfg.wechat.mode!r}"
            )
        if not cfg.wechat.app_id:
            raise ConfigError(f"wechat.app_id: required for mode {cfg.wechat.mode!r}")
    _validate_wecom(cfg.wecom)
    try:
        if len(cfg.data_key_bytes) != 32:
            raise ValueError
    except ValueError:
        raise ConfigError(
            "security.data_key: expected base64 of 32 random bytes "
            '(python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())")'
        ) from None
    for key, value in (
        ("outbox.max_attempts", cfg.outbox.max_attempts),
        ("outbox.base_delay_seconds", cfg.outbox.base_delay_seconds),
        ("outbox.batch_size", cfg.outbox.batch_size),
        ("outbox.max_in_flight", cfg.outbox.max_in_flight),
        ("outbox.poll_seconds", cfg.outbox.poll_seconds),
        ("outbox.lease_seconds", cfg.outbox.lease_seconds),
        ("outbox.request_timeout", cfg.outbox.request_timeout),
        ("wecom.per_member_per_minute", cfg.wecom.per_member_per_minute),
        ("wecom.per_member_per_hour", cfg.wecom.per_member_per_hour),
        ("security.timestamp_window", cfg.security.timestamp_window),
        ("security.max_body_bytes", cfg.security.max_body_bytes),
        ("bot.reply_deadline", cfg.bot.reply_deadline),
        ("server.port", cfg.server.port),
        ("server.header_timeout", cfg.server.header_timeout),
        ("server.body_timeout", cfg.server.body_timeout),
        ("requests.lead_reply_hours", cfg.requests.lead_reply_hours),
        ("requests.service_reply_hours", cfg.requests.service_reply_hours),
    ):
        if value <= 0:
            raise ConfigError(f"{key}: expected a positive number, got {value!r}")
    if cfg.server.workers < 0:
        raise ConfigError(
            f"server.workers: expected 0 (automatic) or more, got {cfg.server.workers!r}"
        )
    _validate_complaints(cfg.complaints)
    _validate_care(cfg.care)
    _validate_grading(cfg.grading)
    _validate_survey(cfg.survey)
    _validate_campaigns(cfg.campaigns)
    try:
        parse_clock(cfg.digest.time)
    except ValueError:
        raise ConfigError("digest.time: expected HH:MM, e.g. 18:30") from None
    try:
        ZoneInfo(cfg.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"bot.timezone: expected an IANA time zone such as Asia/Shanghai, "
            f"got {cfg.bot.timezone!r}"
        ) from None
    if cfg.log.format not in {"json", "text"}:
        raise ConfigError(f"log.format: expected json or text, got {cfg.log.format!r}")
    if not cfg.database.url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError(
            "database.url: expected sqlite://PATH or postgres://USER@HOST:PORT/DB, "
            f"got {cfg.database.url.split('://')[0]}://…"
        )


def parse_clock(text: str) -> tuple[int, int]:
    """``"09:00"`` -> (9, 0); ValueError for anything else."""
    hours, _, minutes = text.strip().partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(text)
    return h, m


def parse_date_list(text: str) -> frozenset[date]:
    """``"2026-10-09, 2026-12-31"`` -> the dates; ValueError for a malformed one."""
    return frozenset(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())


def parse_occasions(text: str, with_year: bool) -> list[tuple[str, str]]:
    """``"01-01 元旦, 02-14 情人节"`` -> [("01-01", "元旦"), …]; with_year: "YYYY-MM-DD name".
    ValueError for a malformed entry."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        when, _, name = part.strip().partition(" ")
        if with_year:
            date.fromisoformat(when)
        else:
            date.fromisoformat(f"2000-{when}")
        if not name.strip():
            raise ValueError(part)
        out.append((when, name.strip()))
    return out


def _validate_wecom(w: WecomConfig) -> None:
    if not (w.token or w.encoding_aes_key):
        return
    if not w.token:
        raise ConfigError("wecom.token: required with wecom.encoding_aes_key (接收消息 → Token)")
    if len(w.encoding_aes_key) != 43:
        raise ConfigError(
            "wecom.encoding_aes_key: expected the 43-character EncodingAESKey (接收消息)"
        )
    if not w.corp_id:
        raise ConfigError("wecom.corp_id: required for the /wecom callback (我的企业 → 企业ID)")


def _validate_care(c: CareConfig) -> None:
    for name in ("briefing_time", "quiet_start", "quiet_end"):
        try:
            parse_clock(getattr(c, name))
        except ValueError:
            raise ConfigError(f"care.{name}: expected HH:MM, e.g. 08:30") from None
    for name, with_year in (("extra_occasions", False), ("fallback_holidays", True)):
        try:
            parse_occasions(getattr(c, name), with_year)
        except ValueError:
            example = "2027-02-06 春节" if with_year else "02-14 情人节"
            raise ConfigError(f"care.{name}: expected entries like 「{example}」") from None
    if c.leap_day not in {"feb28", "mar1"}:
        raise ConfigError("care.leap_day: expected feb28 or mar1")


def _validate_grading(g: GradingConfig) -> None:
    try:
        parse_clock(g.time)
    except ValueError:
        raise ConfigError("grading.time: expected HH:MM, e.g. 02:30") from None
    for f in dataclasses.fields(g):
        if f.name.endswith(("_amount", "_deals")) and getattr(g, f.name) < 0:
            raise ConfigError(f"grading.{f.name}: expected 0 (off) or a positive number")
    if g.active_days <= 0:
        raise ConfigError("grading.active_days: expected a positive number of days")
    if g.dormant_days <= g.active_days:
        raise ConfigError("grading.dormant_days: must be more days than grading.active_days")
    if g.push_max_lines <= 0:
        raise ConfigError("grading.push_max_lines: expected a positive number")


def _validate_survey(s: SurveyConfig) -> None:
    if s.days_after_deal < 1:
        raise ConfigError("survey.days_after_deal: expected a positive number of days")
    if not 1 <= s.low_score <= 4:
        raise ConfigError("survey.low_score: expected a score from 1 to 4")
    try:
        parse_clock(s.time)
    except ValueError:
        raise ConfigError("survey.time: expected HH:MM, e.g. 08:00") from None


def _validate_campaigns(c: CampaignsConfig) -> None:
    for f in dataclasses.fields(c):
        if getattr(c, f.name) < 0:
            raise ConfigError(f"campaigns.{f.name}: expected 0 or a positive number")
    for name in ("cap_window_days", "run_days", "prompt_max_lines"):
        if getattr(c, name) <= 0:
            raise ConfigError(f"campaigns.{name}: expected a positive number")


def _validate_complaints(c: ComplaintsConfig) -> None:
    for name in ("first_reply_hours", "resolve_days", "warn_fraction", "media_window_minutes"):
        if getattr(c, name) <= 0:
            raise ConfigError(f"complaints.{name}: expected a positive number")
    if c.warn_fraction >= 1:
        raise ConfigError("complaints.warn_fraction: expected a share between 0 and 1, e.g. 0.75")
    if c.reopen_days < 0:
        raise ConfigError("complaints.reopen_days: expected 0 or more days")
    for f in dataclasses.fields(c):
        if f.name.startswith(("first_reply_hours_", "resolve_days_")) and getattr(c, f.name) < 0:
            raise ConfigError(f"complaints.{f.name}: expected 0 (inherit) or a positive number")
    try:
        start, end = parse_clock(c.workday_start), parse_clock(c.workday_end)
    except ValueError:
        raise ConfigError(
            "complaints.workday_start/workday_end: expected HH:MM such as 09:00 and 18:00"
        ) from None
    if start >= end:
        raise ConfigError("complaints.workday_start: must be earlier than workday_end")
    for name in ("extra_holidays", "extra_workdays"):
        try:
            parse_date_list(getattr(c, name))
        except ValueError:
            raise ConfigError(
                f"complaints.{name}: expected comma-separated dates like 2026-10-09,2026-12-31"
            ) from None
