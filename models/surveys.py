"""The after-sale satisfaction survey: a few days after a deal is signed the customer
is asked for a 1-5 score — on the Official Account when they wrote to us within
WeChat's 48-hour window, else through a line in the owner rep's briefing that the
rep forwards. The answer lands on the survey row (the card and the digest read it);
a low score becomes a revisit request for the owner rep, and a comment that is a
complaint opens a ticket.

One survey per deal (a unique key), created before anything is queued, so a second
run of the job — or a second scheduler — asks nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise import fields
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.models import Model

from bot.config import Config
from bot.parsing.intent import Intent, classify
from models.complaints import Intake, open_ticket
from models.customers import Customer
from models.deals import SIGNED_STAGES, Deal
from models.messages import ProcessedMessage
from models.outbox import enqueue
from models.periods import bounds
from models.rawsql import select
from models.requests import SURVEY, Routed, route_request
from models.sealed import SealedTextField
from models.staff import Staff
from models.staff_push import text_payload

OA, REP = "oa", "rep"
_LATEST_ANSWER = (
    '"customer_id" = ? AND "answered_at" IS NOT NULL ORDER BY "answered_at" DESC, "id" DESC LIMIT 1'
)
# Deals closed longer ago than the delay plus this are not surveyed any more: turning
# the survey on must not ask about every deal of past years.
LOOKBACK_DAYS = 30
# Customer-service messages reach a customer only this long after their last message.
SERVICE_WINDOW = timedelta(hours=48)
# An answer counts for a question asked at most this long ago.
ANSWER_DAYS = 7

QUESTION = (
    "您好，感谢您选择我们{product}！为了把服务做得更好，想请您花一秒钟打个分："
    "您对这次购买和服务满意吗？请回复 1-5 分（5 分最满意），也可以在分数后面写上您的意见，"
    "例如「4 送货有点慢」。"
)


class Survey(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    deal: fields.OneToOneRelation = fields.OneToOneField(
        "models.Deal", related_name="survey", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="surveys", on_delete=fields.CASCADE
    )
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # How the question went: "oa" (to the customer) or "rep" (in the owner's briefing).
    channel = fields.CharField(max_length=8)
    asked_at = fields.DatetimeField()
    score = fields.SmallIntField(null=True)
    comment = SealedTextField(default="")
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "survey"
        indexes = (("customer_id", "asked_at"), ("answered_at",), ("channel", "asked_at"))


def question_text(product: str) -> str:
    """The question as the customer reads it (also the text a rep forwards)."""
    return QUESTION.format(product=f"的{product}" if product else "")


# --- asking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueSurvey:
    deal_id: int
    customer_id: int
    owner_id: int | None
    product: str
    openid: str | None
    reachable: bool


async def due_surveys(today: date, cfg: Config) -> list[DueSurvey]:
    """Signed deals closed ``days_after_deal`` days ago or earlier (within the
    lookback) with no survey yet, of customers who did not ask to be left alone — in
    one query."""
    last = today - timedelta(days=cfg.survey.days_after_deal)
    rows = (
        await Deal.filter(
            stage__in=SIGNED_STAGES,
            closed_on__lte=last,
            closed_on__gte=last - timedelta(days=LOOKBACK_DAYS),
            survey__id__isnull=True,
            customer__opted_out_at__isnull=True,
        )
        .order_by("closed_on", "id")
        .values(
            "id",
            "customer_id",
            "owner_id",
            "product",
            "customer__owner_id",
            "customer__openid",
            "customer__unreachable_at",
        )
    )
    return [
        DueSurvey(
            deal_id=r["id"],
            customer_id=r["customer_id"],
            # The customer's owner now (「转移」 moves the after-sale care too).
            owner_id=r["customer__owner_id"] or r["owner_id"],
            product=r["product"] or "",
            openid=r["customer__openid"],
            reachable=r["customer__unreachable_at"] is None,
        )
        for r in rows
    ]


async def recent_writers(openids: set[str], since: datetime) -> set[str]:
    """Which of ``openids`` wrote to the Official Account since ``since``."""
    if not openids:
        return set()
    rows = await ProcessedMessage.filter(
        channel="oa", sender__in=openids, created_at__gte=since
    ).values_list("sender", flat=True)
    return {str(r) for r in rows}


@dataclass(frozen=True)
class SurveyRun:
    asked_customers: int  # questions queued on the Official Account
    via_rep: int  # surveys left to the owner rep's briefing
    skipped: int  # already surveyed (another run got there first)

    def __str__(self) -> str:
        return (
            f"survey: {self.asked_customers} question(s) queued, "
            f"{self.via_rep} for the reps' briefings"
        )


async def send_surveys(today: date, cfg: Config, now: datetime | None = None) -> SurveyRun:
    """Create the day's surveys and ask: one question per customer on the Official
    Account when inside the 48-hour window, else a line in the rep's briefing."""
    now = now or datetime.now(UTC)
    if not cfg.survey.enabled:
        return SurveyRun(0, 0, 0)
    due = await due_surveys(today, cfg)
    if not due:
        return SurveyRun(0, 0, 0)
    in_window = await recent_writers(
        {d.openid for d in due if d.openid and d.reachable}, now - SERVICE_WINDOW
    )

    def channel(d: DueSurvey) -> str:
        return OA if d.openid in in_window else REP

    await Survey.bulk_create(
        [
            Survey(
                deal_id=d.deal_id,
                customer_id=d.customer_id,
                owner_id=d.owner_id,
                channel=channel(d),
                asked_at=now,
            )
            for d in due
        ],
        ignore_conflicts=True,
    )
    # The rows this run created (a concurrent run's rows carry its own moment).
    mine = set(
        await Survey.filter(deal_id__in=[d.deal_id for d in due], asked_at=now).values_list(
            "deal_id", flat=True
        )
    )
    asked: set[int] = set()
    via_rep = 0
    for d in due:
        if d.deal_id not in mine:
            continue
        if channel(d) == REP:
            via_rep += 1
            continue
        if d.customer_id in asked:
            continue  # several deals of one customer: one question
        asked.add(d.customer_id)
        assert d.openid is not None
        key = f"survey:{d.customer_id}:{today.isoformat()}"
        await enqueue(key, OA, d.openid, text_payload(question_text(d.product)), when=now)
    return SurveyRun(len(asked), via_rep, len(due) - len(mine))


@dataclass(frozen=True)
class RepSurvey:
    """A survey the rep is to make: the customer and what they bought."""

    customer: Customer
    product: str


async def rep_surveys_by_owner(today: date, cfg: Config) -> dict[int | None, list[RepSurvey]]:
    """Surveys left to reps on ``today`` (local day), by owner id — the briefing's
    「请回访满意度」 section; one line per customer."""
    start, end = bounds(today, today, cfg)
    rows = (
        await Survey.filter(
            channel=REP,
            asked_at__gte=start,
            asked_at__lt=end,
            # Asked not to be contacted since the job ran: the rep does not ask either.
            customer__opted_out_at__isnull=True,
        )
        .order_by("id")
        .prefetch_related("customer", "deal")
    )
    found: dict[int | None, list[RepSurvey]] = {}
    seen: set[int] = set()
    for s in rows:
        if s.customer_id in seen:  # type: ignore[attr-defined]
            continue
        seen.add(s.customer_id)  # type: ignore[attr-defined]
        item = RepSurvey(s.customer, s.deal.product or "")
        found.setdefault(s.owner_id, []).append(item)  # type: ignore[attr-defined]
    return found


# --- answering ------------------------------------------------------------------------


async def pending_surveys(customer: Customer, now: datetime | None = None) -> list[Survey]:
    """The customer's unanswered Official Account question (all its deals), if asked
    within the answer window: the latest batch."""
    now = now or datetime.now(UTC)
    rows = await Survey.filter(
        customer_id=customer.id,
        channel=OA,
        answered_at__isnull=True,
        asked_at__gte=now - timedelta(days=ANSWER_DAYS),
    ).order_by("-asked_at", "-id")
    return _latest_batch(rows)


@dataclass(frozen=True)
class Answered:
    score: int
    comment: str
    low: bool
    # The revisit request for the owner rep, on a low score.
    revisit: Routed | None
    # The complaint opened from the comment, when it is one.
    complaint: Intake | None


async def answer_survey(
    customer: Customer,
    surveys: list[Survey],
    score: int,
    comment: str,
    cfg: Config,
    now: datetime | None = None,
    channel: str = OA,
    by: Staff | None = None,
) -> Answered:
    """Record the answer; a low score asks the owner rep to call back, a complaint in
    the comment becomes a ticket (answered on ``channel``). ``by``: the rep who asked
    in person and records the answer — nobody is pushed about their own entry, and
    whether the comment is a complaint to file is theirs to judge."""
    now = now or datetime.now(UTC)
    comment = comment.strip()[:500]
    for s in surveys:
        s.score, s.comment, s.answered_at = score, comment, now
        await s.save(update_fields=["score", "comment", "answered_at"])
    low = score <= cfg.survey.low_score
    revisit = None
    if low:
        words = f"满意度回访 {score} 分" + (f"：{comment}" if comment else "（没有留言）")
        revisit = await route_request(customer, SURVEY, words, cfg, now=now, notify=by is None)
    complaint = None
    if by is None and comment and classify(comment) is Intent.COMPLAINT:
        complaint = await open_ticket(customer, comment, channel, cfg, now=now)
    return Answered(score, comment, low, revisit, complaint)


# A rep may record an answer they collected this long after the question was due.
REP_ANSWER_DAYS = 30


async def open_surveys(customer: Customer, now: datetime | None = None) -> list[Survey]:
    """The customer's unanswered surveys of the last month, either way asked (a rep
    records the answer they got by forwarding the question): the latest batch."""
    now = now or datetime.now(UTC)
    rows = await Survey.filter(
        customer_id=customer.id,
        answered_at__isnull=True,
        asked_at__gte=now - timedelta(days=REP_ANSWER_DAYS),
    ).order_by("-asked_at", "-id")
    return _latest_batch(rows)


def _latest_batch(rows: list[Survey]) -> list[Survey]:
    """The surveys asked together most recently (several deals of one customer are
    asked about in one question): ``rows`` come newest first."""
    return [s for s in rows if s.asked_at == rows[0].asked_at] if rows else []


async def latest_answer(customer_id: int) -> Survey | None:
    """The customer's latest answered survey (the card shows it)."""
    found = await select(Survey, _LATEST_ANSWER, customer_id)
    return found[0] if found else None


# --- figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyKpis:
    answered: int
    avg_score: float | None
    low: int


async def survey_kpis(first: date, last: date, cfg: Config) -> SurveyKpis:
    """Answers given in the local days ``first``..``last``: count, average, low scores."""
    start, end = bounds(first, last, cfg)
    query = Survey.filter(answered_at__gte=start, answered_at__lt=end, score__isnull=False)
    # Sum and count rather than Avg: Tortoise casts an average to the column's type.
    row = (
        await query.annotate(
            n=Count("id"),
            total=Sum("score"),
            low=Count("id", _filter=Q(score__lte=cfg.survey.low_score)),
        )
        .first()
        .values("n", "total", "low")
    )
    n = int(row["n"] or 0) if row else 0
    if not n:
        return SurveyKpis(0, None, 0)
    return SurveyKpis(n, int(row["total"]) / n, int(row["low"] or 0))
