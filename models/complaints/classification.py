"""Categories, severity and urgency of a complaint from its words, and its priority."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import Grade, Severity


def _words(*lines: str) -> tuple[str, ...]:
    return tuple(word for line in lines for word in line.split())


class Category(StrEnum):
    QUALITY = "quality"
    LOGISTICS = "logistics"
    SERVICE = "service"
    PRICE = "price"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.QUALITY: "质量",
    Category.LOGISTICS: "物流",
    Category.SERVICE: "服务",
    Category.PRICE: "价格",
    Category.OTHER: "其他",
}
# The order of the one-question menu: 1 质量 … 5 其他.
CATEGORY_CHOICES = tuple(Category)

# A complaint's words -> its category. "破损" is in two lists on purpose: damage
# on arrival may be the goods or the transport, and then we ask.
CATEGORY_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.QUALITY: _words(
        "质量 破损 损坏 坏了 裂 故障 不能用 无法使用 用不了 漏水",
        "异味 过期 变质 次品 瑕疵 假货 划痕 不工作 报警",
    ),
    Category.LOGISTICS: _words(
        "物流 快递 发货 送货 配送 没收到 未收到 还没到 没到货 丢件",
        "丢失 少发 漏发 错发 外箱 压坏 运输 破损 延误",
    ),
    Category.SERVICE: _words("服务 态度 客服 售后 没人接 没人理 不理 不回复 推诿 安装 敷衍 骂人"),
    Category.PRICE: _words("价格 太贵 多收 收费 扣费 退款 差价 降价 发票 报价 乱收 退钱"),
}

# Words that make a complaint more serious than its category alone.
CRITICAL_WORDS = _words("受伤 伤人 起火 着火 冒烟 爆炸 触电 中毒 安全事故 住院")
HIGH_WORDS = _words(
    "12315 消协 媒体 曝光 律师 起诉 法院 欺诈 诈骗",
    "假货 严重 无法使用 不能用 停产 索赔 全部 多次",
)
URGENT_WORDS = _words("急 马上 立刻 立即 尽快 今天 赶紧 等着用 催")

CATEGORY_SEVERITY = {
    Category.QUALITY: Severity.MEDIUM,
    Category.LOGISTICS: Severity.MEDIUM,
    Category.SERVICE: Severity.MEDIUM,
    Category.PRICE: Severity.LOW,
    Category.OTHER: Severity.LOW,
}
SEVERITY_WEIGHT = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
SEVERITY_BY_LABEL = {s.label: s for s in Severity}
URGENCY_LABELS = {1: "低", 2: "中", 3: "高"}
URGENCY_BY_LABEL = {label: level for level, label in URGENCY_LABELS.items()}
MAX_URGENCY = 3


@dataclass(frozen=True)
class Classification:
    # None when the words point nowhere or to two places: then we ask.
    category: Category | None
    severity: Severity
    urgency: int

    @property
    def priority(self) -> int:
        return priority_of(self.severity, self.urgency)


def priority_of(severity: Severity | str, urgency: int) -> int:
    """Priority = severity weight (1-4) x urgency (1-3): 1 … 12, higher is sooner."""
    return SEVERITY_WEIGHT[Severity(severity)] * max(1, min(MAX_URGENCY, urgency))


def priority_label(priority: int) -> str:
    if priority >= 9:
        return f"最高（{priority}）"
    if priority >= 6:
        return f"高（{priority}）"
    if priority >= 3:
        return f"中（{priority}）"
    return f"低（{priority}）"


def category_label(code: str) -> str:
    try:
        return Category(code).label
    except ValueError:
        # Older rows (and the demo data of earlier versions) hold free text.
        return code or "待确认"


def parse_category(text: str) -> Category | None:
    """``"2"``, ``"物流"``, ``"物流问题"`` -> Category.LOGISTICS."""
    text = text.strip().rstrip("。.！!")
    if text.isdigit() and 1 <= int(text) <= len(CATEGORY_CHOICES):
        return CATEGORY_CHOICES[int(text) - 1]
    for category, label in CATEGORY_LABELS.items():
        if text.startswith(label):
            return category
    return None


def guess_category(content: str) -> Category | None:
    hits = {c: sum(w in content for w in words) for c, words in CATEGORY_KEYWORDS.items()}
    best = max(hits.values())
    winners = [c for c, n in hits.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def classify(content: str, grade: Grade | str, category: Category | None = None) -> Classification:
    """Category (guessed unless given), severity from category and wording, urgency
    from wording and the customer's grade: a VIP's complaint is one step more urgent."""
    category = category or guess_category(content)
    severity = CATEGORY_SEVERITY[category or Category.OTHER]
    if any(w in content for w in CRITICAL_WORDS):
        severity = Severity.CRITICAL
    elif any(w in content for w in HIGH_WORDS):
        severity = Severity.HIGH
    urgency = 1
    if any(w in content for w in URGENT_WORDS):
        urgency += 1
    if Grade(grade) is Grade.VIP:
        urgency += 1
    return Classification(category, severity, min(urgency, MAX_URGENCY))
