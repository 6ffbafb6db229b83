"""Enumerations shared by the models, with the Chinese labels users see."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"rep": "销售", "manager": "主管", "admin": "管理员"}[self.value]


class Grade(StrEnum):
    VIP = "vip"
    NORMAL = "normal"
    POTENTIAL = "potential"

    @property
    def label(self) -> str:
        return {"vip": "VIP", "normal": "普通", "potential": "潜在"}[self.value]


class Lifecycle(StrEnum):
    POTENTIAL = "potential"
    ACTIVE = "active"
    DORMANT = "dormant"

    @property
    def label(self) -> str:
        return {"potential": "潜在", "active": "活跃", "dormant": "沉默"}[self.value]


class Tier(StrEnum):
    """大客户 tiers, highest first; a customer who is none of them has no tier."""

    STRATEGIC = "strategic"
    KEY = "key"
    MAJOR = "major"

    @property
    def label(self) -> str:
        return {"strategic": "战略大客户", "key": "重要大客户", "major": "普通大客户"}[self.value]


class FollowUpMethod(StrEnum):
    PHONE = "phone"
    WECHAT = "wechat"
    VISIT = "visit"
    EMAIL = "email"
    OTHER = "other"
    # A contact to come (「明天要去拜访李娜」) on a customer with no follow-up yet: it
    # holds the revisit and counts as no contact anywhere (figures, activity).
    PLAN = "plan"

    @property
    def label(self) -> str:
        return {
            "phone": "电话",
            "wechat": "微信",
            "visit": "拜访",
            "email": "邮件",
            "other": "其他",
            "plan": "计划",
        }[self.value]


class DealStage(StrEnum):
    NEEDS = "needs"
    PROPOSAL = "proposal"
    QUOTE = "quote"
    NEGOTIATION = "negotiation"
    SIGNED = "signed"
    AFTER_SALES = "after_sales"

    @property
    def label(self) -> str:
        return {
            "needs": "需求分析",
            "proposal": "方案",
            "quote": "报价",
            "negotiation": "谈判",
            "signed": "签约",
            "after_sales": "售后",
        }[self.value]


class ComplaintStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return {
            "open": "待处理",
            "in_progress": "处理中",
            "resolved": "已解决",
            "closed": "已结案",
            "reopened": "已重新打开",
        }[self.value]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return {"low": "轻微", "medium": "一般", "high": "严重", "critical": "紧急"}[self.value]


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    WAITING_FOR_USER = "waiting_for_user"
    FAILED = "failed"


class ProcessingStatus(StrEnum):
    PROCESSING = "processing"
    DONE = "done"
    # The handler missed the passive-reply deadline; its reply went to the outbox.
    LATE = "late"
    # Taken by a retry to answer it passively (``ProcessedMessage.taker``): pushed only
    # by that retry if it then answers nothing, or by a retry that arrived later and
    # answered nothing too (bot.dedup).
    ANSWERED = "answered"
