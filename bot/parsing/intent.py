"""What a customer's free message is about: a complaint, a question about the progress
of one, a sales lead, a service request, a wish not to be contacted (退订), or small
talk — from the words, the way customers type and speak them on a phone (no command
word needed).

Rules, not a model: every decision can be read and explained, and the labelled corpus
in ``tests/data/customer_messages.tsv`` (printed precision and recall) keeps them
honest. Order matters: a progress question mentions 投诉 without being a new one; a
complaint may mention a price or a refund; a purchase wish beats the service words
around it (「买一批，能开专票吗」); thanks and praise are not tickets.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    COMPLAINT = "complaint"
    PROGRESS = "progress"
    LEAD = "lead"
    SERVICE = "service"
    OPT_OUT = "optout"
    SMALL_TALK = "smalltalk"

    @property
    def label(self) -> str:
        return {
            "complaint": "投诉",
            "progress": "进度查询",
            "lead": "购买意向",
            "service": "服务请求",
            "optout": "退订",
            "smalltalk": "闲聊",
        }[self.value]


def _alternatives(*lines: str) -> re.Pattern[str]:
    """Any of the words (``_`` stands for a space inside an English phrase)."""
    words = [w.replace("_", " ") for line in lines for w in line.split()]
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


# Negative-looking words that are negated, and praise: taken out before the cues are read.
_NEGATED = _alternatives(
    "没坏 没有坏 没破损 没有破损 没问题 没有问题 不慢 一点都不慢 不差 不算差 没有损坏",
)
_PROGRESS = re.compile(
    r"进度|进展|怎么样了|处理得怎么样|到哪一步|到哪了|到什么程度|有结果了吗|有结果没|"
    r"有消息了吗|解决了吗|有回复了吗|有人在处理吗|处理到|谁在跟|结果出来|到账了吗|\bstatus\b|"
    # 「什么时候能给我解决」, 「多久才能处理好」, 「还要等多久」: when, not what.
    r"(?:什么时候|啥时候|何时|多久)(?:能|可以|才能|才|会)?(?:给我|帮我)?(?:解决|处理|回复|答复|给个?说法)|"
    r"还要等?多久"
)
_COMPLAINT = _alternatives(
    "投诉 破损 坏了 坏的 损坏 撞坏 质量问题 质量太差 质量差 质量这么差 太差 很差 真差",
    "没收到 还没到 没到货 还没发货 发不发货 漏发 错发 发错 开错 写错 少发 缺了",
    "态度差 态度很差 态度太差 态度恶劣 态度不好 退款 假货 二手 欺骗 骗人 骗子 坑人 太坑",
    "差评 不满意 失望 太慢 慢死 垃圾 破东西 气死 生气 没人理 没人接 没人管 没有人联系",
    "推来推去 敷衍 骂人 漏水 漏油 黑屏 冒烟 鼓包 危险 裂缝 断了 烂了 湿了 不能用 没法",
    "用不了 无法使用 老毛病 噪音 吵得 味道很大 不对板 不一样 不对 差太多 12315 消协",
    "不认账 多收 又要收 迟到 掉下来 丢了 没更新 再也不买 第几次 到底 怎么回事 不理",
    "还是有问题 问题还在 还是不行 还是坏 又坏了 又出问题 没修好 还没解决 没有解决",
    "不行了 打不通 太冲 说话冲 退钱 还钱 没人联系 不靠谱 离谱 骗钱",
    "😡 🤬 😠 👎 💢 😤",
    "complain broken terrible awful refund worst damaged",
    "not_delivered doesn't_work does_not_work not_working",
)
_LEAD = _alternatives(
    "价格 多少钱 报价 报个价 报一下 询价 想买 要买 买两 买一批 买一个 买几 下单 订一批",
    "订货 想订 采购 现货 有货 优惠 便宜 团购 演示 样品 试用 咨询 了解一下 产品目录",
    "代理 加盟 经销 定制 招标 合作 销售联系 销售给我 联系我 回个电话 打个电话给我",
    "销售经理 再来 上门介绍 新品 how_much quote price cost buy purchase",
)
_PRAISE = _alternatives(
    "谢谢 感谢 好评 点赞 满意 很好 挺好 不错 专业 辛苦 好用 放心 👍 😊 🙏",
    "thank thanks great excellent good",
)
_SERVICE = _alternatives(
    "发票 开票 专票 退货 退换 换货 能退 退吗 安装 上门 转人工 人工 客服在 售后电话",
    "保修 说明书 怎么用 使用方法 保养 积分 修改订单 收货地址 延迟发货 订单 维修 注册",
    "会员 合同 取消订单 多久换 invoice return warranty",
    "什么时候到 什么时候发 啥时候到 啥时候发 发货了吗 物流信息 快递单号",
    "人呢 没人回复 没有人回复 怎么没人回",
    "想找 找一下 找你们 怎么联系 联系方式 电话多少 地址在哪 你们地址 营业时间 几点上班",
)


# Not to be contacted any more (campaigns, surveys): 「退订」, 「不要再发了」, 「别再联系我」.
# After complaints (an angry 「别再发了，垃圾」 is a ticket first) and before leads
# (「别联系我」 holds 「联系我」).
_OPT_OUT = re.compile(
    r"退订|取消订阅|取消关注推送|拒收|不要再?发了|别再?发了|不要再发|别再发|不要再?推送?|别再?推送?|"
    r"不要再?给我发|别再?给我发|不要再?联系我?|别再?联系我?|不要再?打扰|别再?打扰|不想再?收到|"
    r"不再接收|停止推送|停止发送|别烦我|不要烦我|^td$|^t$|unsubscribe|^stop$"
)


def normalize(text: str) -> str:
    """Full-width letters, digits and punctuation as plain ones, lower case."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def classify(text: str) -> Intent:
    """The intent of one customer message."""
    t = _NEGATED.sub("，", normalize(text))
    if _PROGRESS.search(t):
        return Intent.PROGRESS
    if _COMPLAINT.search(t):
        return Intent.COMPLAINT
    if _OPT_OUT.search(t):
        return Intent.OPT_OUT
    if _LEAD.search(t):
        return Intent.LEAD
    if _PRAISE.search(t):
        return Intent.SMALL_TALK
    if _SERVICE.search(t):
        return Intent.SERVICE
    return Intent.SMALL_TALK


def looks_like_complaint(text: str) -> bool:
    return classify(text) is Intent.COMPLAINT


_THANKS = _alternatives("谢 感谢 好评 点赞 满意 辛苦 👍 🙏 thank")


def is_thanks(text: str) -> bool:
    """Thanks or praise for us (「今天天气不错」 is neither)."""
    t = normalize(text)
    return _THANKS.search(t) is not None and "不满意" not in t


def _only(words: str, particles: str) -> re.Pattern[str]:
    """A message that is one of ``words`` and nothing more than ``particles`` after it."""
    return re.compile(rf"^\s*(?:{words})[{particles}！!。?？~～\s]*$", re.IGNORECASE)


_GREETING = _only(
    "你好|您好|在吗|在不在|hi|hello|哈喽|嗨|早|早安|早上好|上午好|下午好|晚上好", "呀啊哈"
)
_ACKNOWLEDGED = _only(
    "好的?|好吧|好滴|好嘞|ok|okay|嗯+|哦+|噢|收到|知道了|明白了?|行|可以|没问题|了解|👌|🙏|👍",
    "呀啊哈的了",
)


def is_greeting(text: str) -> bool:
    """「你好」, 「在吗」: a greeting and nothing more."""
    return _GREETING.match(text) is not None


def is_acknowledgement(text: str) -> bool:
    """「好的」, 「嗯嗯」, 「收到」: the customer heard us; nothing to pass on."""
    return _ACKNOWLEDGED.match(text) is not None
