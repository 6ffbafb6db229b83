"""A customer's wish that needs a person — a sales lead (询价, 想买, 让销售联系我) or a
service request (发票, 退货, 安装, 转人工): handed to the owner rep (else the manager on
duty) as a push with the customer's own words, kept on the customer's card, and
answered with who will get in touch and by when."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import fields
from tortoise.models import Model

from bot.config import Config
from bot.crypto import FieldCipher
from bot.parsing.phones import parse_phone, phones_in_text
from models.complaints import add_sla_time, default_assignee, fmt_time
from models.customers import UNNAMED, Customer, company_beside, name_pinyin, phone_fields
from models.enums import Grade
from models.rawsql import newest_of_customer
from models.sealed import SealedTextField
from models.staff import Staff
from models.staff_push import push_to_staff

LEAD, SERVICE = "lead", "service"
# A low score in the after-sale survey (models.surveys): the owner rep calls back.
SURVEY = "survey"
KIND_LABEL = {LEAD: "购买意向", SERVICE: "服务请求", SURVEY: "满意度低分回访"}
# The same kind of wish again within this long is the same request, said again.
SAME_REQUEST = timedelta(hours=2)
WORDS_MAX = 500


class CustomerRequest(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="requests", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    words = SealedTextField()
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    due_at = fields.DatetimeField()
    handled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_request"
        indexes = (("customer_id", "created_at"), ("assignee_id", "handled_at"))


@dataclass(frozen=True)
class Routed:
    request: CustomerRequest
    assignee: Staff | None
    # False when the customer asked the same a moment ago: nobody is pushed twice.
    new: bool


PUSH = (
    "【{label}】客户 {who}：\n「{words}」\n请在 {due} 前联系。发送「查 {name}」看客户卡片和电话。"
)


async def route_request(
    customer: Customer,
    kind: str,
    words: str,
    cfg: Config,
    now: datetime | None = None,
    notify: bool = True,
) -> Routed:
    """Record the wish and push it to the person who will act on it (``notify``: False
    when that person is the one who recorded it)."""
    now = now or datetime.now(UTC)
    recent = (
        await CustomerRequest.filter(
            customer_id=customer.id, kind=kind, created_at__gte=now - SAME_REQUEST
        )
        .order_by("-created_at")
        .first()
        .prefetch_related("assignee")
    )
    if recent is not None:
        return Routed(recent, recent.assignee, False)
    assignee = await default_assignee(customer)
    hours = cfg.requests.lead_reply_hours if kind == LEAD else cfg.requests.service_reply_hours
    due = add_sla_time(now, hours, cfg.complaints, cfg.tz)
    request = await CustomerRequest.create(
        customer=customer, kind=kind, words=words.strip()[:WORDS_MAX], assignee=assignee, due_at=due
    )
    if assignee is not None and notify:
        text = PUSH.format(
            label=KIND_LABEL[kind],
            who=_pushed_name(customer),
            name=customer.name,
            words=request.words,
            due=fmt_time(due, cfg.tz),
        )
        await push_to_staff(assignee, text, f"request:{request.id}", cfg)
    return Routed(request, assignee, True)


def _pushed_name(customer: Customer) -> str:
    """How a push names the customer: 「张三（华东精密） · VIP」."""
    who = customer.name + company_beside(customer.name, customer.company)
    return who + " · VIP" if Grade(customer.grade) is Grade.VIP else who


MORE_PUSH = "【{label} · 客户补充】{who}：\n「{words}」{phone}\n请在 {due} 前联系。"


@dataclass(frozen=True)
class Added:
    request: CustomerRequest
    assignee: Staff | None
    # The phone number in the words, now the customer's (they had none).
    phone: str | None


# 「我叫黄小龙电话135…」: two or three characters, then a break or what comes next.
_OWN_NAME = re.compile(
    r"(?:我叫|我的名字是|名字叫)([\u4e00-\u9fff]{2,3}?)(?=电话|手机|[^\u4e00-\u9fff]|$)"
)


async def add_to_request(
    customer: Customer, words: str, cipher: FieldCipher, cfg: Config, now: datetime | None = None
) -> Added | None:
    """More words from a customer whose lead or service request of the last
    :data:`SAME_REQUEST` is still waiting — the phone number and quantity the answer
    asked for, 「我姓王，杭州的」: kept on the request and passed to the assignee. A phone
    number in them becomes the customer's when they have none. None: nothing waiting."""
    now = now or datetime.now(UTC)
    request = (
        await CustomerRequest.filter(
            customer_id=customer.id,
            kind__in=(LEAD, SERVICE),
            handled_at=None,
            created_at__gte=now - SAME_REQUEST,
        )
        .order_by("-created_at")
        .first()
        .prefetch_related("assignee")
    )
    if request is None:
        return None
    words = words.strip()[:WORDS_MAX]
    if len(request.words) + len(words) < WORDS_MAX:
        request.words = f"{request.words}\n{words}"
        await request.save(update_fields=["words"])
    # 「我叫黄小龙」 from someone we only know as 「微信客户…」: their name, on the card.
    named = _OWN_NAME.search(words)
    if named and customer.name.startswith(UNNAMED):
        customer.name = named.group(1)
        customer.name_pinyin, customer.name_initials = name_pinyin(customer.name)
        await customer.save(update_fields=["name", "name_pinyin", "name_initials"])
    phone = None
    spans = phones_in_text(words)
    if spans and not customer.phone_enc:
        phone = parse_phone(words[spans[0][0] : spans[0][1]])
        if phone is not None:
            customer.update_from_dict(phone_fields(cipher, phone))
            await customer.save(update_fields=["phone_enc", "phone_hash", "phone_last4"])
    if request.assignee is not None:
        text = MORE_PUSH.format(
            label=KIND_LABEL[request.kind],
            who=_pushed_name(customer),
            words=words,
            phone=f"\n已记下电话 {phone}。" if phone else "",
            due=fmt_time(request.due_at, cfg.tz),
        )
        key = f"request:{request.id}:more:{int(now.timestamp() * 1000)}"
        await push_to_staff(request.assignee, text, key, cfg)
    return Added(request, request.assignee, phone)


async def open_requests(customer_id: int, limit: int = 3) -> list[CustomerRequest]:
    """The customer's latest requests, newest first (the card shows them)."""
    found = await newest_of_customer(CustomerRequest, customer_id, limit)
    if found:
        await CustomerRequest.fetch_for_list(found, "assignee")
    return found
