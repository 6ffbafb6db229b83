"""What the rules push to staff and customers, in Chinese, and how times read there.

The handlers' own replies live in ``handlers/complaints_customer.py`` and
``handlers/complaints_staff.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.enums import Role

N_ASSIGNED = (
    "【新投诉】{no}（{category}，{severity}，优先级 {priority}）\n"
    "客户：{customer}（{grade}）\n内容：{content}\n"
    "首次回复截止：{first_due}\n处理截止：{resolve_due}\n"
    "回复客户请发送：回复 {no} 内容"
)
N_REPLY = "【投诉 {no}】{who}回复：\n{text}"
N_CLOSED = (
    "【投诉 {no}】已处理完毕：\n{resolution}\n\n"
    "请回复数字 1-5 为本次处理打分（5 分最满意），可在数字后附一句评价。"
    "如果问题没有解决，请回复「未解决」。"
)
N_REOPENED = (
    "【投诉重新打开】{no}：客户表示问题未解决（第 {count} 次）。新的处理截止：{resolve_due}"
)
N_LOW_RATING = "【差评提醒】{no}：客户评分 {score} 分。{comment}"
N_ESCALATED = "【投诉升级】{no}（{severity}，优先级 {priority}）由 {actor} 升级：{reason}"
N_REGRADED = "【投诉改级】{no}：{change}。原因：{reason}"
N_WARN = {
    "first_reply": "【时限提醒】投诉 {no} 还未回复客户，首次回复截止 {due}（还剩约 {left}）。",
    "resolve": "【时限提醒】投诉 {no} 处理截止 {due}（还剩约 {left}），请尽快结案。",
}
N_BREACH = {
    "first_reply": "【超时升级】投诉 {no} 已超过首次回复时限（{due}），负责人：{assignee}。",
    "resolve": "【超时升级】投诉 {no} 已超过处理时限（{due}），负责人：{assignee}。",
}
# Who answers, as the customer sees it: a role, never a name or a phone number.
ROLE_FOR_CUSTOMER = {Role.REP: "您的客户经理", Role.MANAGER: "客服主管", Role.ADMIN: "客服主管"}


def fmt_time(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%m月%d日 %H:%M") if moment else "—"


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)} 天 {minutes % (24 * 60) // 60} 小时"
    if minutes >= 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分钟"
    return f"{minutes} 分钟"
