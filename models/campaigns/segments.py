"""Segments: which customers a campaign is for, from the words a manager writes after
「给」 — grades (VIP/普通/潜在), lifecycles (活跃/沉默), 大客户 tiers, the industries,
categories and sizes present in the data, owners by name, a birthday month
(「生日 12月」, 「本月生日」) and saved segments (「名单 老客户」).

Words of one kind widen the segment (「VIP 普通」: either grade), words of different
kinds narrow it (「VIP 餐饮」: VIP *and* 餐饮). A segment becomes one SQL condition
(``segment_sql``) so selection is a single set-based statement over the book.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from models.care import birthday_pairs
from models.customers import Customer
from models.enums import Grade, Lifecycle, Tier
from models.staff import Staff

# Dimension → the customer column it filters.
COLUMNS = {
    "grade": "grade",
    "lifecycle": "lifecycle",
    "tier": "tier",
    "industry": "industry",
    "category": "category",
    "size": "size",
    "owner": "owner_id",
    "birthday_month": "birthday_month",
}
# 「大客户」: any of the three tiers.
ANY_TIER = "*"

FIXED_WORDS: dict[str, tuple[str, str]] = {
    "vip": ("grade", Grade.VIP.value),
    "普通客户": ("grade", Grade.NORMAL.value),
    "普通": ("grade", Grade.NORMAL.value),
    "潜在客户": ("grade", Grade.POTENTIAL.value),
    "潜在": ("grade", Grade.POTENTIAL.value),
    "活跃": ("lifecycle", Lifecycle.ACTIVE.value),
    "沉默": ("lifecycle", Lifecycle.DORMANT.value),
    "战略大客户": ("tier", Tier.STRATEGIC.value),
    "战略": ("tier", Tier.STRATEGIC.value),
    "重要大客户": ("tier", Tier.KEY.value),
    "普通大客户": ("tier", Tier.MAJOR.value),
    "大客户": ("tier", ANY_TIER),
}
EVERYONE_WORDS = ("全部客户", "所有客户", "全体客户", "所有人", "全部")
# Words between segment words that carry no meaning: 「李明的 VIP 客户」.
_FILLER = re.compile(r"^(?:[\s\u3000,，、;；和及与跟]+|的)")
# 「VIP客户」, 「餐饮的客户们」: right after a segment word 客户 says nothing more.
_CUSTOMER_WORD = re.compile(r"^(?:的)?客户们?")
_BIRTHDAY = re.compile(
    r"^(?:生日\s*(?:在\s*)?(\d{1,2})\s*月份?|(\d{1,2})\s*月份?\s*(?:过)?生日|"
    r"(本月|这个月|下个月|下月)\s*(?:过)?生日|生日\s*(?:在\s*)?(本月|这个月|下个月|下月))"
)
_LIST = re.compile(r"^名单\s*[「“\"]?([^\s\u3000,，、」”\"]{1,32})[」”\"]?")


class SegmentError(ValueError):
    """The words after 「给」 name no segment; the message says what is understood."""


@dataclass
class Segment:
    """dimension → allowed values (absent: any). An empty list matches nobody, which is
    what 「VIP」 within a saved list of 普通 customers means."""

    filters: dict[str, list[Any]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)

    def add(self, dimension: str, value: Any, label: str) -> None:
        values = self.filters.setdefault(dimension, [])
        if value not in values:
            values.append(value)
        if label not in self.labels:
            self.labels.append(label)

    def narrow(self, other: Segment, label: str) -> None:
        """Both this and ``other`` (a saved segment used inside a new one)."""
        for dimension, values in other.filters.items():
            if dimension in self.filters:
                self.filters[dimension] = [v for v in self.filters[dimension] if v in values]
            else:
                self.filters[dimension] = list(values)
        self.labels.append(label)

    @property
    def label(self) -> str:
        return " · ".join(self.labels) if self.labels else "全部客户"

    def as_dict(self) -> dict[str, Any]:
        return {"filters": self.filters, "labels": self.labels}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(
            {k: list(v) for k, v in (data.get("filters") or {}).items() if k in COLUMNS},
            list(data.get("labels") or []),
        )


@dataclass
class Vocabulary:
    """Every word a segment can be made of: the fixed ones and those in the data."""

    words: dict[str, tuple[str, Any, str]]
    lists: dict[str, Segment]

    def longest_at(self, text: str) -> tuple[str, tuple[str, Any, str]] | None:
        low = text.lower()
        best: tuple[str, tuple[str, Any, str]] | None = None
        for word, meaning in self.words.items():
            if low.startswith(word) and (best is None or len(word) > len(best[0])):
                best = (word, meaning)
        return best


async def vocabulary() -> Vocabulary:
    """The fixed words, then the data's industries, categories and sizes, the staff's
    names and the saved segments — a handful of DISTINCT queries."""
    from models.campaigns.tables import SavedSegment

    words: dict[str, tuple[str, Any, str]] = {}
    for word, (dimension, value) in FIXED_WORDS.items():
        label = "大客户" if value == ANY_TIER else _fixed_label(dimension, value)
        words[word] = (dimension, value, label)
    for dimension in ("industry", "category", "size"):
        values = (
            await Customer.exclude(**{dimension: ""}).distinct().values_list(dimension, flat=True)
        )
        for value in values:
            words.setdefault(str(value).lower(), (dimension, value, str(value)))
    for staff_id, name in await Staff.all().order_by("-active", "id").values_list("id", "name"):
        words.setdefault(name.lower(), ("owner", staff_id, f"{name}的客户"))
    lists = {
        s.name: Segment.from_dict(s.segment) for s in await SavedSegment.all().order_by("name")
    }
    return Vocabulary(words, lists)


def _fixed_label(dimension: str, value: str) -> str:
    if dimension == "grade":
        return Grade(value).label
    if dimension == "lifecycle":
        return Lifecycle(value).label
    return Tier(value).label


def parse_segment(text: str, vocab: Vocabulary, today: date) -> tuple[Segment, str]:
    """The segment at the start of ``text`` and what follows it (the campaign's note).
    Raises :class:`SegmentError` when no segment word starts the text."""
    segment = Segment()
    rest = text.strip()
    matched = False
    while rest:
        filler = _FILLER.match(rest) or (_CUSTOMER_WORD.match(rest) if matched else None)
        if filler:
            rest = rest[filler.end() :]
            continue
        step = _one_word(rest, vocab, today, segment)
        if step is None:
            break
        rest = rest[step:]
        matched = True
    if not matched:
        raise SegmentError(text.strip()[:20])
    # Speech ends with 「。」: a note of punctuation only is no note.
    return segment, rest.strip().lstrip("，,。.；;：:、!！").strip()


def _one_word(text: str, vocab: Vocabulary, today: date, segment: Segment) -> int | None:
    """Take one segment word off the start of ``text`` into ``segment``; its length."""
    for word in EVERYONE_WORDS:
        if text.startswith(word):
            segment.labels.append("全部客户")
            return len(word)
    birthday = _BIRTHDAY.match(text)
    if birthday:
        month = _birthday_month(birthday, today)
        if month is None:
            return None
        segment.add("birthday_month", month, f"{month}月生日")
        return birthday.end()
    saved = _LIST.match(text)
    if saved:
        name = _known_list(saved.group(1), vocab)
        if name is None:
            raise SegmentError(f"名单 {saved.group(1)}")
        segment.narrow(vocab.lists[name], f"名单「{name}」")
        return saved.start(1) + len(name) + _closing(text, saved.start(1) + len(name))
    bare = _known_list(text, vocab, prefix=True)
    found = vocab.longest_at(text)
    if bare is not None and (found is None or len(bare) > len(found[0])):
        segment.narrow(vocab.lists[bare], f"名单「{bare}」")
        return len(bare)
    if found is None:
        return None
    word, (dimension, value, label) = found
    segment.add(dimension, value, label)
    return len(word)


def _closing(text: str, at: int) -> int:
    return 1 if text[at : at + 1] in ("」", "”", '"') else 0


def _known_list(text: str, vocab: Vocabulary, prefix: bool = False) -> str | None:
    """The saved segment ``text`` names (or, with ``prefix``, starts with; longest)."""
    if not prefix:
        return text if text in vocab.lists else _known_list(text, vocab, prefix=True)
    names = [n for n in vocab.lists if text.startswith(n)]
    return max(names, key=len) if names else None


def _birthday_month(m: re.Match[str], today: date) -> int | None:
    number = m.group(1) or m.group(2)
    if number:
        month = int(number)
        return month if 1 <= month <= 12 else None
    word = m.group(3) or m.group(4)
    if word in ("下个月", "下月"):
        return 1 if today.month == 12 else today.month + 1
    return today.month


# --- SQL ---------------------------------------------------------------------------------


def segment_sql(segment: Segment, today: date, alias: str = "c") -> tuple[str, list[Any]]:
    """The segment as one SQL condition on ``customer AS alias`` with ``?`` parameters
    (``models.rawsql``). A lunar birthday counts in the solar month it falls in next."""
    clauses: list[str] = []
    params: list[Any] = []
    for dimension, values in segment.filters.items():
        column = f"{alias}.{COLUMNS[dimension]}"
        if not values:
            clauses.append("1 = 0")
            continue
        if dimension == "birthday_month":
            sql, more = _birthday_sql(alias, values, today)
            clauses.append(sql)
            params += more
            continue
        if dimension == "tier" and ANY_TIER in values:
            clauses.append(f"{column} IS NOT NULL")
            continue
        clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params += values
    return (" AND ".join(clauses) or "1 = 1"), params


def _birthday_sql(alias: str, months: list[int], today: date) -> tuple[str, list[Any]]:
    parts = [f"({alias}.birthday_lunar = ? AND {alias}.birthday_month IN "]
    params: list[Any] = [False]
    parts[0] += f"({', '.join('?' for _ in months)}))"
    params += months
    lunar: set[tuple[int, int]] = set()
    for month in months:
        year = today.year if month >= today.month else today.year + 1
        first = date(year, month, 1)
        days = [first + timedelta(days=n) for n in range(calendar.monthrange(year, month)[1])]
        lunar |= birthday_pairs(days)[1]
    if lunar:
        pairs = " OR ".join(
            f"({alias}.birthday_month = ? AND {alias}.birthday_day = ?)" for _ in lunar
        )
        parts.append(f"({alias}.birthday_lunar = ? AND ({pairs}))")
        params.append(True)
        for month, day in sorted(lunar):
            params += [month, day]
    return "(" + " OR ".join(parts) + ")", params


def split_title_segment(
    text: str, vocab: Vocabulary, today: date
) -> tuple[str, Segment, str] | None:
    """「新品X 给 VIP 餐饮 说明…」 → (title, segment, note). The 「给」 that starts a
    segment is taken (a title may hold a 给 of its own: 「给力净水器 给 VIP」); None when
    no 「给」 is followed by segment words. Raises :class:`SegmentError` for a saved list
    that does not exist."""
    for at, char in enumerate(text):
        if char != "给" or not text[:at].strip():
            continue
        try:
            segment, note = parse_segment(text[at + 1 :], vocab, today)
        except SegmentError as exc:
            if str(exc).startswith("名单"):
                raise
            continue
        return text[:at].strip(), segment, _strip_note_label(note)
    return None


_NOTE_LABEL = re.compile(r"^(?:说明|内容|备注|文案)(?:\s*[:：]\s*|\s+)")


def _strip_note_label(note: str) -> str:
    return _NOTE_LABEL.sub("", note, count=1).strip()
