"""Which of a rep's customers a free sentence is about: the customer's name, their
company (also without 有限公司 and the like), a contact recorded on the card (李总,
采购王经理), or a title after a surname (李总) when exactly one of the rep's customers
bears that surname. Plain substring checks over
the rep's own book (a few thousand names at most: well under a millisecond), no index."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.customers import Customer
from models.staff import Staff

# Company suffixes people leave out when they speak: 「华东精密」 for 华东精密有限公司.
_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团|公司|厂|店)$")
# 李总, 王经理, 张老板, 陈主任 …: a surname and how one addresses the person.
_TITLE = re.compile(r"([\u4e00-\u9fff])(?:总监|总|经理|老板|主任|院长|局长|老师|科长|处长|董|工)")


@dataclass(frozen=True)
class Mention:
    customer: Customer
    # Named (or their company named) outright; a title after a surname is a guess.
    sure: bool


def is_title(text: str) -> bool:
    """「王总」, 「李经理」: a surname and how one addresses the person, and nothing else."""
    return _TITLE.fullmatch(text.strip()) is not None


def leading_title(text: str) -> str | None:
    """「王总」 of 「王总电话聊了报价」: a surname and title glued to what follows, as
    speech writes it after a command word; None when the text does not open so."""
    match = _TITLE.match(text)
    return match.group() if match and match.end() < len(text) else None


def short_company(company: str) -> str:
    return _SUFFIX.sub("", company.strip())


def _latest_contact_first(c: Customer) -> tuple[bool, float, int]:
    at = c.last_contact_at
    return (at is None, -at.timestamp() if at else 0.0, c.id)


async def mentioned_customers(rep: Staff, text: str, *, every_guess: bool = False) -> list[Mention]:
    """The rep's customers the text mentions, surest first. A surname and title
    (「王总」) guesses the rep's customers of that surname: only when exactly one is, for
    a sentence the rep did not address to anyone; all of them with ``every_guess``, for
    a command naming 「王总」 as its customer, which then asks which one."""
    # Only what matching needs: callers fetch the whole customer they act on.
    book = await Customer.filter(owner_id=rep.id).only(
        "id", "name", "company", "contacts", "owner_id", "last_contact_at"
    )
    sure = [
        c
        for c in book
        if (len(c.name) >= 2 and c.name in text)
        or (c.company and len(short_company(c.company)) >= 2 and short_company(c.company) in text)
        or any(len(person) >= 2 and person in text for person in c.contacts.split())
    ]
    if sure:
        return [Mention(c, True) for c in sure]
    surnames = {m.group(1) for m in _TITLE.finditer(text)}
    # The one the rep spoke to last is the likeliest: first, as a list shows them.
    guessed = sorted((c for c in book if c.name[:1] in surnames), key=_latest_contact_first)
    return [Mention(c, False) for c in guessed] if len(guessed) == 1 or every_guess else []
