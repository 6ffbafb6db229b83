"""Complaint tickets, their SLA deadlines and their timeline — and the rules on them.

A complaint knows how to be opened (classified, given deadlines, assigned), replied
to, reassigned, escalated, regraded, closed, rated and reopened; the SLA job's
warnings and escalations and the digest's KPIs are computed here too, so the chat
handlers, the CLI and the scheduler all apply the same rules. The rules return data;
what the customer's chat does next (waiting for a rating) is the handlers' business.

- ``tables``: the Tortoise models Complaint and ComplaintEvent, ACTIVE, ComplaintError
- ``classification``: categories, severity and urgency words, classification, priority
- ``numbers``: ticket numbers (TS + local date + daily sequence)
- ``deadlines``: SLA targets, the work calendar, ``add_sla_time``, ``compute_deadlines``
- ``text``: the Chinese texts the rules push, ``fmt_time``
- ``people``: actors and timeline entries, default assignee, managers, rights checks
- ``intake``: ``customer_for_openid``, ``open_ticket``, ``set_category``, ``attach_media``
- ``workflow``: assign, reply, close, escalate, regrade, rate, reopen
- ``queries``: finding tickets and their timeline
- ``sla_job``: ``run_sla``, its warnings and escalations
- ``kpis``: ``complaint_kpis`` for the digest

Every name callers used from the former single module is re-exported here.
"""

from __future__ import annotations

from models.complaints.classification import (
    CATEGORY_CHOICES,
    CATEGORY_KEYWORDS,
    CATEGORY_LABELS,
    CATEGORY_SEVERITY,
    CRITICAL_WORDS,
    HIGH_WORDS,
    MAX_URGENCY,
    SEVERITY_BY_LABEL,
    SEVERITY_WEIGHT,
    URGENCY_BY_LABEL,
    URGENCY_LABELS,
    URGENT_WORDS,
    Category,
    Classification,
    category_label,
    classify,
    guess_category,
    parse_category,
    priority_label,
    priority_of,
)
from models.complaints.deadlines import (
    add_sla_time,
    compute_deadlines,
    next_due,
    sla_targets,
    work_calendar,
)
from models.complaints.intake import (
    Intake,
    attach_media,
    customer_for_openid,
    open_ticket,
    recent_ticket,
    set_category,
)
from models.complaints.kpis import (
    ComplaintKpis,
    complaint_kpis,
)
from models.complaints.numbers import (
    TICKET_RE,
    parse_ticket_no,
    ticket_no,
)
from models.complaints.people import (
    customer_actor,
    default_assignee,
    is_manager,
    managers,
    may_view,
    push_to_customer,
    record,
    staff_actor,
)
from models.complaints.queries import (
    active_tickets_ending,
    customer_ticket,
    customer_tickets,
    get_ticket,
    open_tickets_for,
    timeline,
)
from models.complaints.sla_job import (
    run_sla,
    sla_breaches,
    sla_warnings,
)
from models.complaints.tables import (
    ACTIVE,
    MANAGING_ROLES,
    Complaint,
    ComplaintError,
    ComplaintEvent,
)
from models.complaints.text import (
    N_ASSIGNED,
    N_BREACH,
    N_CLOSED,
    N_ESCALATED,
    N_LOW_RATING,
    N_REGRADED,
    N_REOPENED,
    N_REPLY,
    N_WARN,
    ROLE_FOR_CUSTOMER,
    fmt_time,
)
from models.complaints.workflow import (
    Closing,
    assign,
    close,
    escalate,
    latest_closed,
    rate,
    reassign,
    regrade,
    reopen,
    reply,
    within_reopen_window,
)

__all__ = [
    "ACTIVE",
    "CATEGORY_CHOICES",
    "CATEGORY_KEYWORDS",
    "CATEGORY_LABELS",
    "CATEGORY_SEVERITY",
    "CRITICAL_WORDS",
    "HIGH_WORDS",
    "MANAGING_ROLES",
    "MAX_URGENCY",
    "N_ASSIGNED",
    "N_BREACH",
    "N_CLOSED",
    "N_ESCALATED",
    "N_LOW_RATING",
    "N_REGRADED",
    "N_REOPENED",
    "N_REPLY",
    "N_WARN",
    "ROLE_FOR_CUSTOMER",
    "SEVERITY_BY_LABEL",
    "SEVERITY_WEIGHT",
    "TICKET_RE",
    "URGENCY_BY_LABEL",
    "URGENCY_LABELS",
    "URGENT_WORDS",
    "Category",
    "Classification",
    "Closing",
    "Complaint",
    "ComplaintError",
    "ComplaintEvent",
    "ComplaintKpis",
    "Intake",
    "active_tickets_ending",
    "add_sla_time",
    "assign",
    "attach_media",
    "category_label",
    "classify",
    "close",
    "complaint_kpis",
    "compute_deadlines",
    "customer_actor",
    "customer_for_openid",
    "customer_ticket",
    "customer_tickets",
    "default_assignee",
    "escalate",
    "fmt_time",
    "get_ticket",
    "guess_category",
    "is_manager",
    "latest_closed",
    "managers",
    "may_view",
    "next_due",
    "open_ticket",
    "open_tickets_for",
    "parse_category",
    "parse_ticket_no",
    "priority_label",
    "priority_of",
    "push_to_customer",
    "rate",
    "reassign",
    "recent_ticket",
    "record",
    "regrade",
    "reopen",
    "reply",
    "run_sla",
    "set_category",
    "sla_breaches",
    "sla_targets",
    "sla_warnings",
    "staff_actor",
    "ticket_no",
    "timeline",
    "within_reopen_window",
    "work_calendar",
]
