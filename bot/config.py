"""Configuration: a TOML file, overridden key by key by ``WECRM_<SECTION>_<KEY>``.

Every key is declared once here with its type and default; ``config.example.toml``
documents the same keys for people. A wrong or missing key stops start-up with a
single :class:`ConfigError` line naming the key and what was expected.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """One line that names the offending key and what it should be."""


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # Seconds a graceful shutdown waits for in-flight requests and late replies.
    shutdown_timeout: float = 10.0
    # A connection must deliver its request headers this many seconds after it
    # opens (or after its previous response), and a request its body this many
    # seconds after the headers: slow senders cannot hold connections open, and
    # both stay well inside WeChat's 5-second wait.
    header_timeout: float = 4.0
    body_timeout: float = 2.0
    # Worker processes of `wecrm serve` sharing the port (SO_REUSEPORT). 0: one per
    # core on PostgreSQL, one on SQLite (an embedded file has one writer at a time).
    workers: int = 0


@dataclass
class DatabaseConfig:
    # May carry a password: kept out of repr().
    url: str = field(default="sqlite://wecrm.sqlite3", repr=False)


@dataclass
class WechatConfig:
    """Official Account (公众号) settings — the same values WeRoBot/wechatpy take."""

    # Secrets stay out of repr() so a logged config never leaks them.
    token: str = field(default="", repr=False)
    app_id: str = ""
    app_secret: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    # plain | compatible | safe — as chosen in the Official Account console.
    mode: str = "plain"
    api_base: str = "https://api.weixin.qq.com"
    # Template message for staff outside the 48-hour customer-service window (the
    # briefing, SLA warnings…): its id, and the page it opens (optional).
    staff_template_id: str = ""
    staff_template_url: str = ""


@dataclass
class WecomConfig:
    """WeCom (企业微信) self-built app: staff talk to the bot at /wecom, pushes go as
    app messages."""

    corp_id: str = ""
    agent_id: int = 0
    secret: str = field(default="", repr=False)
    # 接收消息 → API 接收: the callback's Token and EncodingAESKey. Empty: no /wecom.
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    api_base: str = "https://qyapi.weixin.qq.com"
    # WeCom allows an app 30 messages a minute and 1000 an hour per member.
    per_member_per_minute: int = 30
    per_member_per_hour: int = 1000


@dataclass
class OutboxConfig:
    # Run the delivery worker inside `wecrm serve`.
    enabled: bool = True
    max_attempts: int = 8
    # Backoff: base * 3^(attempt-1) with ±20 % jitter: 1 min … ~12 h, ~18 h in all.
    base_delay_seconds: float = 60.0
    max_delay_seconds: float = 43200.0
    batch_size: int = 50
    # Tencent's send APIs have no idempotency key: a row whose call was under way
    # when the worker was killed is sent again after its lease. At most this many
    # calls are under way at once, which bounds those duplicates.
    max_in_flight: int = 4
    poll_seconds: float = 1.0
    # A row claimed longer ago than this is presumed lost with its worker and retaken.
    lease_seconds: float = 120.0
    # Seconds one Tencent API call may take.
    request_timeout: float = 10.0


@dataclass
class SecurityConfig:
    timestamp_window: int = 300
    max_body_bytes: int = 65536
    # Base64 of 32 random bytes; encrypts phone/address at rest. Required.
    data_key: str = field(default="", repr=False)


@dataclass
class BotConfig:
    reply_deadline: float = 4.5
    timezone: str = "Asia/Shanghai"
    # How long a multi-step dialog waits for the user's next message.
    conversation_ttl_minutes: int = 10


@dataclass
class StaffConfig:
    invite_ttl_hours: int = 72
    bind_max_failures: int = 5
    bind_window_minutes: int = 15


@dataclass
class ComplaintsConfig:
    """Complaint SLA: deadlines, the working-hours calendar, attachment and reopen windows."""

    # Defaults for every severity; the per-severity keys below override them (0 = inherit).
    first_reply_hours: float = 24.0
    resolve_days: float = 7.0
    first_reply_hours_low: float = 0.0
    first_reply_hours_medium: float = 0.0
    first_reply_hours_high: float = 0.0
    first_reply_hours_critical: float = 0.0
    resolve_days_low: float = 0.0
    resolve_days_medium: float = 0.0
    resolve_days_high: float = 0.0
    resolve_days_critical: float = 0.0
    # Off: deadlines run on the calendar clock. On: only working time counts.
    working_hours: bool = False
    workday_start: str = "09:00"
    workday_end: str = "18:00"
    # Comma-separated YYYY-MM-DD, on top of chinese-calendar (or of plain weekends
    # for years chinese-calendar does not know yet).
    extra_holidays: str = ""
    extra_workdays: str = ""
    # Share of a deadline after which the assignee is warned.
    warn_fraction: float = 0.75
    # Photos and voice a customer sends this long after filing go onto the ticket.
    media_window_minutes: int = 10
    # Days after closing during which 未解决 reopens the ticket and a rating is taken.
    reopen_days: int = 7


@dataclass
class RequestsConfig:
    """Customers' wishes that need a person: leads (询价, 想买) and service requests."""

    # Working hours (complaints' calendar) within which the owner rep gets in touch.
    lead_reply_hours: float = 2.0
    service_reply_hours: float = 4.0


@dataclass
class SurveyConfig:
    """The after-sale satisfaction survey (models.surveys)."""

    # Ask at all.
    enabled: bool = True
    # Days after a signed deal's closing date the customer is asked.
    days_after_deal: int = 7
    # A score at or below this opens a revisit for the owner rep.
    low_score: int = 3
    # Local time of the daily run that asks (or puts the question in the briefing).
    time: str = "08:00"


@dataclass
class DigestConfig:
    """The managers' daily digest."""

    # Local time the digest (text and chart) is pushed to managers and admins.
    time: str = "18:30"
    # Push it at all (「日报」 on demand works either way).
    enabled: bool = True


@dataclass
class CareConfig:
    """Scheduled care: the morning briefing, birthdays, holidays, silence by grade."""

    # Local time of the daily briefing each rep gets.
    briefing_time: str = "08:30"
    # Nothing is pushed between these local times; due prompts wait for the morning.
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    # A customer is "silent" after this many days without contact, by grade.
    silent_days_vip: int = 7
    silent_days_normal: int = 30
    silent_days_potential: int = 14
    # Days ahead a VIP's birthday, and 春节 / 中秋, are announced (time for a gift).
    birthday_heads_up_days: int = 3
    festival_heads_up_days: int = 7
    # Lines per section in the pushed briefing; 「待办 全部」 shows everything.
    briefing_max_lines: int = 5
    # 29 February birthdays in other years: "feb28" or "mar1".
    leap_day: str = "feb28"
    # Extra occasions "MM-DD name", comma-separated (western ones the team wants).
    extra_occasions: str = "01-01 元旦, 02-14 情人节, 12-25 圣诞节"
    # Official holidays for years chinese-calendar does not know yet:
    # "YYYY-MM-DD name", comma-separated.
    fallback_holidays: str = (
        "2027-01-01 元旦, 2027-02-06 春节, 2027-04-05 清明节, 2027-05-01 劳动节, "
        "2027-06-09 端午节, 2027-09-15 中秋节, 2027-10-01 国庆节"
    )


@dataclass
class GradingConfig:
    """The nightly recompute of grade (VIP / 普通 / 潜在), lifecycle (潜在 / 活跃 / 沉默)
    and 大客户 tier from the last 12 months' signed deals and the last contact."""

    # Local time of the nightly recompute.
    time: str = "02:30"
    # VIP: at least vip_amount (¥) or at least vip_deals signed deals in the last
    # 12 months (0 = that criterion is off). Any other buyer is 普通; 潜在 has never bought.
    vip_amount: float = 100000.0
    vip_deals: int = 6
    # 活跃: bought or contacted within active_days; 沉默: neither for dormant_days;
    # in between a customer keeps its state. Never bought: 潜在.
    active_days: int = 30
    dormant_days: int = 90
    # 大客户 tiers, the same way (amount or deals in 12 months, 0 = off); 战略 is also
    # a manager's pin (「定级 张三 战略」).
    strategic_amount: float = 1000000.0
    strategic_deals: int = 0
    key_amount: float = 500000.0
    key_deals: int = 24
    major_amount: float = 200000.0
    major_deals: int = 12
    # Lines in a rep's change push; the rest are counted.
    push_max_lines: int = 10


@dataclass
class CampaignsConfig:
    """Care campaigns (new-product recommendations, event invitations): the frequency
    cap and how long a campaign runs."""

    # A customer is in at most this many campaign prompts within cap_window_days
    # (0 = no cap); the preview says how many the cap left out.
    max_contacts_per_month: int = 2
    cap_window_days: int = 30
    # A recommendation runs (marks accepted, figures in the digest) this many days
    # after it is sent; an event until this many days after its day.
    run_days: int = 30
    event_days_after: int = 7
    # Customers listed by name in one rep's prompt; the rest are counted (「活动」 lists all).
    prompt_max_lines: int = 30


@dataclass
class SimulatorConfig:
    enabled: bool = False


@dataclass
class LogConfig:
    level: str = "INFO"
    # json | text
    format: str = "json"


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    wecom: WecomConfig = field(default_factory=WecomConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    complaints: ComplaintsConfig = field(default_factory=ComplaintsConfig)
    care: CareConfig = field(default_factory=CareConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    requests: RequestsConfig = field(default_factory=RequestsConfig)
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    @property
    def data_key_bytes(self) -> bytes:
        return base64.b64decode(self.security.data_key)


_ENV_PREFIX = "WECRM_"


def _coerce(key: str, value: Any, kind: type) -> Any:
    """Turn a TOML or environment value into the declared type, or say why not."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _field_types(section_cls: type) -> dict[str, type]:
    hints = {"str": str, "int": int, "float": float, "bool": bool}
    return {f.name: hints[str(f.type)] for f in dataclasses.fields(section_cls)}


def _apply(cfg: Config, data: dict[str, Any], source: str) -> None:
    sections = {f.name: f for f in dataclasses.fields(Config)}
    for section_name, values in data.items():
        if section_name not in sections:
            raise ConfigError(f"{section_name}: unknown section in {source}")
        if not isinstance(values, dict):
            raise ConfigError(f"{section_name}: expected a table in {source}")
        section = getattr(cfg, section_name)
        types = _field_types(type(section))
        for key, value in values.items():
            if key not in types:
                raise ConfigError(f"{section_name}.{key}: unknown key in {source}")
            setattr(section, key, _coerce(f"{section_name}.{key}", value, types[key]))


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in dataclasses.fields(Config):
        section_cls = f.default_factory  # type: ignore[misc]
        for key in _field_types(section_cls):  # type: ignore[arg-type]
            env_name = f"{_ENV_PREFIX}{f.name}_{key}".upper()
            if env_name in environ:
                out.setdefault(f.name, {})[key] = environ[env_name]
    return out


def _validate(cfg: Config) -> None:
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


def load_config(
    path: str | Path | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Build the configuration: defaults < TOML file < environment < explicit overrides."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("WECRM_CONFIG")
    cfg = Config()
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {p} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        _apply(cfg, data, str(p))
    _apply(cfg, _env_overrides(environ), "the environment")
    if overrides:
        _apply(cfg, overrides, "overrides")
    _validate(cfg)
    return cfg
