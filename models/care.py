"""Scheduled care: what each rep should do about their customers today — birthdays,
occasions to greet, revisits due, customers gone silent — for the morning briefing
and for 「待办」 on demand (the same data, so the two never disagree).

Built for the whole team at once with a fixed number of queries, whatever the
number of customers: birthdays by (month, day) of the days ahead, revisits and
silent customers in one query each. Customers of a departed (inactive) or missing
owner go to a manager's briefing until they are reassigned.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lunar_python import LunarMonth, Solar
from tortoise.expressions import Q

from bot.config import CareConfig, Config
from bot.config_checks import parse_clock
from bot.parsing.birthdays import Birthday
from models.customers import Customer, birthday_of
from models.enums import Grade, Role
from models.followups import (
    DueRevisit,
    FollowUp,
    due_revisits_by_rep,
    latest_followup_ids,
    revisit_owner,
)
from models.occasions import Occasion, occasions_ahead, workday_note
from models.staff import Staff
from models.surveys import RepSurvey, rep_surveys_by_owner

GRADE_ORDER = {Grade.VIP: 0, Grade.NORMAL: 1, Grade.POTENTIAL: 2}


@dataclass(frozen=True)
class BirthdayItem:
    customer: Customer
    on: date
    # Age reached on that day, when the birth year is known.
    age: int | None


@dataclass(frozen=True)
class SilentItem:
    # Plain values, not a model: a large book has tens of thousands of these.
    name: str
    company: str
    grade: Grade
    # Days since the last contact (or since the customer was created).
    days: int


@dataclass
class Briefing:
    staff: Staff
    today: date
    workday_note: str = ""
    birthdays: list[BirthdayItem] = field(default_factory=list)
    # VIP birthdays in the next days: time to send a gift.
    upcoming_birthdays: list[BirthdayItem] = field(default_factory=list)
    occasions: list[Occasion] = field(default_factory=list)
    # Whom to greet for the first occasion ahead: VIP first.
    to_greet: list[Customer] = field(default_factory=list)
    revisits: list[DueRevisit] = field(default_factory=list)
    silent: list[SilentItem] = field(default_factory=list)
    # After-sale surveys the rep is to ask (the customer is outside WeChat's window).
    surveys: list[RepSurvey] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.birthdays
            or self.upcoming_birthdays
            or self.occasions
            or self.revisits
            or self.silent
            or self.surveys
        )


def silent_days(grade: Grade | str, cfg: CareConfig) -> int:
    return {
        Grade.VIP: cfg.silent_days_vip,
        Grade.NORMAL: cfg.silent_days_normal,
        Grade.POTENTIAL: cfg.silent_days_potential,
    }[Grade(grade)]


def birthday_on(b: Birthday, year: int, cfg: CareConfig) -> date | None:
    """The solar day ``b`` is celebrated in ``year``: 29 February on 28 February (or
    1 March, config) in other years; a lunar 30th of a 29-day month on the 29th."""
    day = b.solar_in(year)
    if day is None and not b.lunar and (b.month, b.day) == (2, 29):
        return date(year, 2, 28) if cfg.leap_day == "feb28" else date(year, 3, 1)
    return day


def birthday_pairs(days: list[date]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The stored (month, day) of solar and of lunar birthdays that can fall on one of
    ``days`` (29 February always a candidate; a lunar 30th of a 29-day month too)."""
    solar = {(d.month, d.day) for d in days} | {(2, 29)}
    lunar: set[tuple[int, int]] = set()
    for d in days:
        lunar_day = Solar.fromYmd(d.year, d.month, d.day).getLunar()
        month, day = abs(lunar_day.getMonth()), lunar_day.getDay()
        lunar.add((month, day))
        length = LunarMonth.fromYm(lunar_day.getYear(), lunar_day.getMonth()).getDayCount()
        if day == length == 29:
            lunar.add((month, 30))
    return solar, lunar


def _candidates(days: list[date]) -> tuple[Q, Q]:
    """Filters for solar and lunar birthdays that can fall on one of ``days``."""
    solar = Q()
    lunar = Q()
    solar_pairs, lunar_pairs = birthday_pairs(days)
    for month, day in solar_pairs:
        solar |= Q(birthday_month=month, birthday_day=day)
    for month, day in lunar_pairs:
        lunar |= Q(birthday_month=month, birthday_day=day)
    return Q(solar, birthday_lunar=False), Q(lunar, birthday_lunar=True)


async def birthdays_between(first: date, last: date, cfg: CareConfig) -> list[BirthdayItem]:
    """Every customer whose birthday falls between ``first`` and ``last`` (inclusive)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    solar, lunar = _candidates(days)
    found = await Customer.filter(solar | lunar, birthday_month__isnull=False)
    items = []
    for customer in found:
        b = birthday_of(customer)
        if b is None:
            continue
        for year in {first.year, last.year} | ({first.year - 1} if b.lunar else set()):
            on = birthday_on(b, year, cfg)
            if on is not None and first <= on <= last:
                age = on.year - b.year if b.year else None
                items.append(BirthdayItem(customer, on, age))
    items.sort(key=lambda i: (i.on, GRADE_ORDER.get(Grade(i.customer.grade), 9), i.customer.id))
    return items


def silent_since(cutoff: datetime) -> Q:
    """Customers not contacted since ``cutoff`` (never contacted: created before it)."""
    return Q(last_contact_at__lt=cutoff) | Q(last_contact_at__isnull=True, created_at__lt=cutoff)


async def _silent(now: datetime, cfg: CareConfig) -> list[tuple[int | None, SilentItem]]:
    q = Q()
    for grade in Grade:
        q |= Q(silent_since(now - timedelta(days=silent_days(grade, cfg))), grade=grade)
    rows = await Customer.filter(q).values_list(
        "owner_id", "name", "company", "grade", "last_contact_at", "created_at"
    )
    items = []
    for owner_id, name, company, grade, last, created in rows:
        items.append(
            (owner_id, SilentItem(name, company, Grade(grade), (now - (last or created)).days))
        )
    # VIP first, then the longest silence.
    items.sort(key=lambda i: (GRADE_ORDER.get(i[1].grade, 9), -i[1].days))
    return items


def _recipients(staff: list[Staff]) -> tuple[dict[int, Staff], Staff | None]:
    active = {s.id: s for s in staff if s.active}
    managers = sorted(
        (s for s in active.values() if s.role in (Role.MANAGER, Role.ADMIN)),
        key=lambda s: (not s.on_duty, s.role != Role.MANAGER, s.id),
    )
    return active, (managers[0] if managers else None)


async def build_briefings(
    today: date, cfg: Config, now: datetime | None = None, staff_ids: set[int] | None = None
) -> dict[int, Briefing]:
    """Briefings for every active staff member (or those in ``staff_ids``) who has
    something to do today, keyed by staff id."""
    care = cfg.care
    now = now or datetime.now(UTC)
    staff = await Staff.all()
    active, fallback = _recipients(staff)

    def owner_of(owner_id: int | None) -> Staff | None:
        return active.get(owner_id) if owner_id in active else fallback  # type: ignore[arg-type]

    briefings: dict[int, Briefing] = {}

    def briefing(who: Staff) -> Briefing:
        if who.id not in briefings:
            briefings[who.id] = Briefing(who, today, workday_note(today))
        return briefings[who.id]

    horizon = today + timedelta(days=care.birthday_heads_up_days)
    for item in await birthdays_between(today, horizon, care):
        who = owner_of(item.customer.owner_id)  # type: ignore[attr-defined]
        if who is None:
            continue
        if item.on == today:
            briefing(who).birthdays.append(item)
        elif item.customer.grade == Grade.VIP:
            briefing(who).upcoming_birthdays.append(item)

    for rep_id, due in (await due_revisits_by_rep(today)).items():
        who = owner_of(rep_id)
        if who is not None:
            briefing(who).revisits.extend(due)

    for owner_id, asks in (await rep_surveys_by_owner(today, cfg)).items():
        who = owner_of(owner_id)
        if who is not None:
            briefing(who).surveys.extend(asks)

    for owner_id, item in await _silent(now, care):
        who = owner_of(owner_id)
        if who is not None:
            briefing(who).silent.append(item)

    occasions = occasions_ahead(today, care)
    if occasions:
        vips = await Customer.filter(grade=Grade.VIP).order_by("id")
        greet: dict[int, list[Customer]] = defaultdict(list)
        for c in vips:
            who = owner_of(c.owner_id)  # type: ignore[attr-defined]
            if who is not None:
                greet[who.id].append(c)
        for who in active.values():
            if who.role == Role.ADMIN and who.id not in greet:
                continue
            b = briefing(who)
            b.occasions = occasions
            b.to_greet = greet.get(who.id, [])
    if staff_ids is not None:
        briefings = {k: v for k, v in briefings.items() if k in staff_ids}
    return {k: v for k, v in briefings.items() if not v.is_empty}


async def briefing_for(staff: Staff, today: date, cfg: Config) -> Briefing:
    """One staff member's briefing (「待办」 in chat): the same content as the push."""
    found = await build_briefings(today, cfg, staff_ids={staff.id})
    return found.get(staff.id) or Briefing(staff, today, workday_note(today))


@dataclass(frozen=True)
class DayAhead:
    """What a day to come holds for one staff member (「明天要回访谁」)."""

    day: date
    revisits: list[DueRevisit]
    birthdays: list[BirthdayItem]
    # Revisits due by today (overdue included): still to do before that day comes.
    still_due: int


async def day_ahead(staff: Staff, day: date, today: date, cfg: CareConfig) -> DayAhead:
    """The revisits planned for ``day`` (a day after ``today``) whose customer is this
    staff member's to revisit, and their customers' birthdays on it."""
    due = (await due_revisits_by_rep(day, staff.id)).get(staff.id, [])
    on_day = [d for d in due if d.followup.next_revisit_on == day]
    still_due = sum(
        1 for d in due if d.followup.next_revisit_on and d.followup.next_revisit_on <= today
    )
    birthdays = await birthdays_between(day, day, cfg)
    if staff.role == Role.REP:
        birthdays = [b for b in birthdays if b.customer.owner_id == staff.id]  # type: ignore[attr-defined]
    return DayAhead(day, on_day, birthdays, still_due)


def in_quiet_hours(moment: datetime, cfg: CareConfig, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    start, end = (time(*parse_clock(t)) for t in (cfg.quiet_start, cfg.quiet_end))
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, cfg: CareConfig, tz: ZoneInfo) -> datetime:
    """``moment``, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(moment, cfg, tz):
        return moment
    local = moment.astimezone(tz)
    end = time(*parse_clock(cfg.quiet_end))
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


# A revisit time more than this long ago is not prompted any more (after downtime
# it is in the next morning's briefing as due instead).
PROMPT_LOOKBACK = timedelta(hours=2)


@dataclass(frozen=True)
class RevisitPrompt:
    staff: Staff
    followup: FollowUp
    customer: Customer


async def revisit_prompts_due(now: datetime, cfg: Config) -> list[RevisitPrompt]:
    """Revisits planned for a time of day that has come (within the look-back), on
    the customer's latest follow-up, addressed to the rep who planned them (or a
    manager if that rep has left)."""
    local = now.astimezone(cfg.tz)
    start = local - PROMPT_LOOKBACK
    if start.date() != local.date():
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    planned = await FollowUp.filter(
        next_revisit_on=local.date(),
        next_revisit_time__lte=f"{local:%H:%M}",
        next_revisit_time__gt=f"{start:%H:%M}",
        rep_id__isnull=False,
    ).prefetch_related("customer")
    if not planned:
        return []
    latest = await latest_followup_ids({f.customer_id for f in planned})  # type: ignore[attr-defined]
    active, fallback = _recipients(await Staff.all())
    prompts = []
    for f in planned:
        if latest.get(f.customer_id) != f.id:  # type: ignore[attr-defined]
            continue
        who = active.get(revisit_owner(f)) or fallback
        if who is not None:
            prompts.append(RevisitPrompt(who, f, f.customer))
    return prompts
