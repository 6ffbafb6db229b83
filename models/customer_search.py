"""Finding a customer from what a rep types: 「张三」, 「张叁」 (a homophone typo),
「zs」, 「zhangsan」, 「华东精密」, 「8000」 (last digits of the phone), a full number.

Each kind of query goes to an index first — initials (``name_initials``), the
keyed phone hash, the last four digits — and only falls back to a scan of names
and companies when the index finds nothing. Phones are never decrypted to search,
except the handful of candidates whose last four digits already match, to check a
longer suffix. Candidates are ranked with rapidfuzz; the caller shows one card or
a numbered list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from tortoise.expressions import Q
from tortoise.functions import Length

from bot.crypto import FieldCipher, normalize_phone
from bot.parsing.phones import with_spoken_phones
from models.customers import Customer, name_pinyin
from models.mentions import leading_title, short_company
from models.rawsql import select, select_equal_any

# The longest name, and the longest anything a customer can be found by (company).
NAME_MAX = Customer._meta.fields_map["name"].max_length  # type: ignore[attr-defined]
LONGEST_SEARCHABLE = Customer._meta.fields_map["company"].max_length  # type: ignore[attr-defined]

MAX_RESULTS = 9  # a numbered list answered with one digit
# Below this score a candidate is noise, not a typo.
THRESHOLD = 70
# How many rows a fallback may pull to rank in Python.
SCAN_LIMIT = 200
# Pinyin typo search: letters that must match, and how many candidates to rank.
TYPO_PREFIX = 4
TYPO_POOL = 1000

_ASCII_NAME = re.compile(r"^[a-z]+$")
# Said between 查 and the name: 「查一下王五」, 「查下 王五」.
_FILLER = re.compile(r"^(?:一下|下)\s*")
_DIGITS = re.compile(r"^\+?[\d\s\-]+$")
# 「李娜的电话」, 「华东精密的地址」: what is asked of the customer, after the name.
_CONTACT_ASKED = re.compile(
    r"\s*的?\s*(?:电话号?码?|手机号?码?|号码|联系方式|地址|公司|单位|生日)"
    r"\s*(?:是|是多少|多少|呢|是啥|是什么|叫什么|几号|哪天|什么时候)?$"
)


@dataclass(frozen=True)
class Match:
    customer: Customer
    score: float


def clean_query(query: str) -> str:
    text = unicodedata.normalize("NFKC", query).strip().rstrip("。.!！?？")
    return re.sub(r"\s+", "", text) if _DIGITS.match(text) or text.isascii() else text


async def search_customers(
    query: str,
    cipher: FieldCipher,
    *,
    prefer_owner: int | None = None,
    named: list[Customer] | None = None,
) -> list[Match]:
    """Customers matching ``query``, best first; at most :data:`MAX_RESULTS` + 1 so the
    caller can tell "more than fit in a list". Ties go to ``prefer_owner``'s customers.

    ``named``: the customers called exactly ``query``, when the caller already read
    them (:func:`split_customer`): an exact name outranks every other kind of match,
    so nothing more is asked of the database."""
    q = clean_query(query)
    if not q or len(q) > LONGEST_SEARCHABLE:
        # Longer than any name, company or phone can be (voice text that never said
        # a name): nothing can match, and SQLite refuses LIKE patterns that long.
        return []
    matches = [Match(c, 100.0) for c in named] if named else await _search(q, cipher)
    if not matches and (asked := _CONTACT_ASKED.search(q)) and asked.start() >= 2:
        # 「查一下李娜的电话」: the card shows the number; the name is what to look up.
        who = q[: asked.start()]
        matches = await _search(who, cipher) or await _without_filler(who, cipher)
    if not matches and (digits := with_spoken_phones(q)) != q and _DIGITS.match(digits):
        # 「查 幺三八一二三四五六七八」: a number read out digit by digit.
        matches = await _by_phone(digits, cipher)
    if not matches:
        matches = await _without_filler(q, cipher)
    matches.sort(
        key=lambda m: (
            -m.score,
            m.customer.owner_id != prefer_owner,  # type: ignore[attr-defined]
            m.customer.id,
        )
    )
    return matches[: MAX_RESULTS + 1]


async def _without_filler(q: str, cipher: FieldCipher) -> list[Match]:
    """「查一下王五」, 「查下王五」: the filler after 查 is not part of the name. Tried only
    when the whole query found nothing, so a name starting with 下 still works."""
    filler = _FILLER.match(q)
    if filler is None or not q[filler.end() :]:
        return []
    return await _search(q[filler.end() :], cipher)


async def _search(q: str, cipher: FieldCipher) -> list[Match]:
    if _DIGITS.match(q):
        return await _by_phone(q, cipher)
    if _ASCII_NAME.match(q.lower()):
        matches = await _by_pinyin(q.lower())
        # Latin letters may also be a company or a name as written: 「TCL」, 「ABB」.
        return matches or await _by_company_or_name(q, [])
    return await _by_text(q)


def best_match(matches: list[Match]) -> Customer | None:
    """The one customer meant, if the ranking leaves no doubt: the only candidate that
    is not noise, or a single best score that is itself confident (exact name, phone,
    homophone)."""
    if len(matches) == 1 and matches[0].score >= 80:
        return matches[0].customer
    if not matches or matches[0].score < 90:
        return None
    if len(matches) > 1 and matches[1].score >= matches[0].score:
        return None
    return matches[0].customer


def _tied_best(matches: list[Match]) -> list[Customer]:
    """The customers sharing the best score, when that score is a confident one."""
    if not matches or matches[0].score < 90:
        return []
    return [m.customer for m in matches if m.score == matches[0].score]


def own_among_best(matches: list[Match], owner_id: int) -> Customer | None:
    """Among equally good matches (two 张三), the one that is ``owner_id``'s, when
    exactly one is: a rep records only for their own customers anyway."""
    own = [c for c in _tied_best(matches) if c.owner_id == owner_id]  # type: ignore[attr-defined]
    return own[0] if len(own) == 1 else None


def by_company_said(matches: list[Match], text: str) -> tuple[Customer, str] | None:
    """Among equally good matches (two 张三), the one whose company ``text`` begins
    with — 「华东精密 电话 聊了报价」, the suffix 有限公司 said or not — and ``text``
    without it; None unless exactly one fits."""
    found = []
    for c in _tied_best(matches):
        for said in (c.company, short_company(c.company)):
            if len(said) >= 2 and text.startswith(said):
                found.append((c, text[len(said) :].lstrip(" \u3000,，:：的")))
                break
    return found[0] if len(found) == 1 else None


async def _by_phone(q: str, cipher: FieldCipher) -> list[Match]:
    digits = normalize_phone(q)
    if len(digits) < 4:
        return []
    if len(digits) >= 11 or (digits.startswith("0") and len(digits) >= 10):
        found = await Customer.filter(phone_hash=cipher.phone_hash(digits)).limit(MAX_RESULTS)
        return [Match(c, 100) for c in found]
    candidates = await Customer.filter(phone_last4=digits[-4:]).limit(SCAN_LIMIT)
    if len(digits) == 4:
        return [Match(c, 95) for c in candidates]
    # A longer suffix: decrypt only the few whose last four digits already match.
    return [
        Match(c, 96)
        for c in candidates
        if c.phone_enc and cipher.decrypt(c.phone_enc).endswith(digits)
    ]


async def _by_pinyin(q: str) -> list[Match]:
    # Initials (indexed) or the full pinyin; the pinyin prefix catches 「zhang」.
    found = await Customer.filter(
        Q(name_initials=q) | Q(name_pinyin=q) | Q(name_pinyin__startswith=q)
    ).limit(SCAN_LIMIT)
    matches = []
    for c in found:
        if c.name_pinyin == q:
            score = 100.0
        elif c.name_initials == q:
            score = 92.0
        else:
            score = 85.0
        matches.append(Match(c, score))
    if matches or len(q) < 4:
        return matches
    # A typo in the pinyin (「zhangsna」): rank the names that share its first letters
    # (an indexed prefix) and about its length. Typos in the first letters are not
    # caught; that keeps the pool to a few hundred rows instead of a whole initial.
    pool: list[tuple[int, str]] = []
    for prefix_len in (TYPO_PREFIX, 2):
        pool = await (
            Customer.annotate(pinyin_len=Length("name_pinyin"))
            .filter(
                name_pinyin__startswith=q[:prefix_len],
                pinyin_len__gte=len(q) - 2,
                pinyin_len__lte=len(q) + 2,
            )
            .limit(TYPO_POOL)
            .values_list("id", "name_pinyin")
        )
        if pool:
            break
    return await _fuzzy(q, dict(pool), fuzz.ratio)


async def _by_text(q: str) -> list[Match]:
    # An exact name outranks every other kind of match (as with split_customer's
    # ``named``): found by the name's own index, without the query's pinyin, which
    # pypinyin takes a tenth of a 查 to work out.
    exact = await select(Customer, '"name" = ? LIMIT ?', q, SCAN_LIMIT)
    if exact:
        return [Match(c, 100.0) for c in exact]
    full, initials = name_pinyin(q)
    # Same initials via the index: the exact name, and homophone or near-homophone typos.
    found = await select(Customer, '"name_initials" = ? LIMIT ?', initials, SCAN_LIMIT)
    matches = []
    for c in found:
        if c.name == q:
            score = 100.0
        elif c.name_pinyin == full:
            score = 93.0  # 张叁 for 张三: sounds the same
        else:
            score = fuzz.ratio(full, c.name_pinyin) * 0.9
        if score >= THRESHOLD:
            matches.append(Match(c, score))
    if any(m.score >= 93 for m in matches):
        return matches
    return await _by_company_or_name(q, matches)


async def _by_company_or_name(q: str, matches: list[Match]) -> list[Match]:
    """``matches`` plus the customers whose company or name contains ``q``."""
    # Nothing certain by name: part of a name or a company (a scan, hence limited).
    found = await Customer.filter(Q(company__icontains=q) | Q(name__contains=q)).limit(SCAN_LIMIT)
    seen = {m.customer.id for m in matches}
    for c in found:
        if c.id in seen:
            continue
        if c.company == q:
            score = 95.0
        elif q in c.name:
            score = 88.0
        else:
            # 「华东精密」 in 「华东精密机械有限公司」: confident when it is most of the name.
            score = 85.0 + 10.0 * len(q) / max(len(c.company), 1)
        matches.append(Match(c, min(score, 94.0)))
    return matches


async def _fuzzy(q: str, choices: dict[int, str], scorer) -> list[Match]:  # type: ignore[no-untyped-def]
    ranked = process.extract(q, choices, scorer=scorer, limit=MAX_RESULTS, score_cutoff=80)
    ids = [key for _choice, _score, key in ranked]
    customers = {c.id: c for c in await Customer.filter(id__in=ids)}
    # Capped below the confident range: a typo match is offered, never preferred.
    return [
        Match(customers[key], min(score, 89.0)) for _c, score, key in ranked if key in customers
    ]


_FIRST_SEPARATOR = re.compile(r"[\s\u3000,，:：;；]+")
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,}")


@dataclass(frozen=True)
class CustomerSplit:
    """A command's arguments as (who, the rest); ``named`` holds the customers called
    exactly ``query`` when telling the name from the rest needed to read them."""

    query: str
    rest: str
    named: list[Customer] | None = None


async def split_customer(text: str) -> CustomerSplit:
    """「张三 电话 聊了…」 → (张三, 电话 聊了…).

    Speech recognition writes no spaces (「张三电话聊了报价」): then the longest leading
    run of characters that is a known customer's name is taken as the name.
    """
    text = text.strip()
    separator = _FIRST_SEPARATOR.search(text)
    head = text[: separator.start()] if separator else text
    glue = separator.group() if separator else ""
    rest = text[separator.end() :] if separator else ""
    if _LATIN_WORD.match(head) and _LATIN_WORD.match(rest):
        return await _split_latin(head, rest)
    if len(head) <= 2 or not _CJK_NAME.match(head):
        return CustomerSplit(head, rest)
    # Even a short head may be glued (「王五电话」, 「王五5千」): the whole head wins
    # when it is itself a known name, else the longest known name it starts with —
    # up to the longest a name can be: company-style names (「华东精密机械有限公司」,
    # 「压测客户0001」) are glued to speech as often as 「王五」 is. One indexed IN list.
    prefixes = [head[:n] for n in range(min(len(head) - 1, NAME_MAX), 1, -1)]
    # A head longer than a name column can hold is speech, not a name: only its
    # prefixes can be one.
    candidates = [head, *prefixes] if len(head) <= NAME_MAX else prefixes
    # Whole rows, not just names: the caller's search then needs no query of its own.
    # Exact names are a handful of rows; no LIMIT, which can tempt PostgreSQL's planner
    # into a sequential scan when its statistics are stale (seen: 9 ms instead of 0.05).
    known: dict[str, list[Customer]] = {}
    for c in await select_equal_any(Customer, "name", candidates):
        known.setdefault(c.name, []).append(c)
    if head in known:
        return CustomerSplit(head, rest, known[head])
    for prefix in prefixes:
        if prefix in known:
            return _glued(prefix, head, glue, rest, known[prefix])
    if title := leading_title(head):
        # 「跟进王总电话聊了报价」: nobody is called 王总电话…; the surname and title are
        # who is meant (the caller offers the rep's customers so named).
        return _glued(title, head, glue, rest, None)
    if len(head) > NAME_SOUNDS_MAX:
        # Speech with no known name at its start: perhaps a name misheard or mistyped
        # (「李那电话聊了报价」 for 李娜). A name that sounds the same splits it; the
        # caller's search then finds the customer by sound, as 「查 李那」 does. Only
        # here, when no exact name matched, is pinyin worked out for the prefixes.
        sounds = [(p, name_pinyin(p)[0]) for p in prefixes[-(NAME_SOUNDS_MAX - 1) :]]
        rows = await select_equal_any(Customer, "name_pinyin", list({s for _, s in sounds}))
        heard = {c.name_pinyin for c in rows}
        for prefix, sound in sounds:  # the longest that sounds like a name wins
            if sound in heard:
                return _glued(prefix, head, glue, rest, None)
    return CustomerSplit(head, rest)


# A name in Latin letters is several words: 「Tom Lee 电话 聊了报价」.
_LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z.'\-]*(?=[\s\u3000]|$)")
_LATIN_WORDS = re.compile(r"[\s\u3000]+([A-Za-z][A-Za-z.'\-]*)(?=[\s\u3000]|$)")
LATIN_NAME_WORDS = 4


async def _split_latin(head: str, rest: str) -> CustomerSplit:
    """The longest run of Latin words from the start that is a known customer's name;
    only the first word when none is (it is then searched as before)."""
    text = f"{head} {rest}"
    words, ends = [head], [len(head)]
    while len(words) < LATIN_NAME_WORDS and (more := _LATIN_WORDS.match(text, ends[-1])):
        words.append(more.group(1))
        ends.append(more.end())
    candidates = {" ".join(words[:n]): ends[n - 1] for n in range(len(words), 1, -1)}
    known: dict[str, list[Customer]] = {}
    for c in await select_equal_any(Customer, "name", list(candidates)):
        known.setdefault(c.name, []).append(c)
    for name, end in candidates.items():  # longest first
        if name in known:
            return CustomerSplit(name, text[end:].lstrip(" \u3000,，:：;；"), known[name])
    return CustomerSplit(head, rest)


# Names found by their sound in glued speech: two to four characters, as people's are.
NAME_SOUNDS_MAX = 4


def _glued(
    name: str, head: str, glue: str, rest: str, named: list[Customer] | None
) -> CustomerSplit:
    tail = head[len(name) :]
    # The separator is kept: 「，」 still splits the note into clauses.
    return CustomerSplit(name, f"{tail}{glue}{rest}" if rest else tail, named)
