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
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


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
    # Worker processes of `wecrm serve` sharing the port (one accept queue). 0: one per
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
    from bot.config_checks import validate  # it imports the sections above

    validate(cfg)
    return cfg
