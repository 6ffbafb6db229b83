"""The demo data set behind ``wecrm seed``: a small sales team with its customers.

Everything is relative to today (in the configured time zone), so a fresh demo
always has revisits due today and overdue, a birthday today, a complaint close to
its first-reply deadline. Random choices come from ``random.Random(2026)``: two
seeds on the same day give the same data (only the ciphertexts differ, since
encryption uses a fresh nonce each time).

Staff and some customers carry simulator identities (``sim-admin``, ``sim-manager``,
``sim-rep-1``…, customers ``sim-cust-1``…) so the web simulator can speak as them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.config import Config
from bot.crypto import FieldCipher
from models.complaints import Category, Complaint, ComplaintEvent, priority_of
from models.complaints import ticket_no as draw_ticket_no
from models.customers import Customer, name_pinyin, phone_fields
from models.deals import Deal
from models.enums import (
    ComplaintStatus,
    DealStage,
    FollowUpMethod,
    Grade,
    Lifecycle,
    Role,
    Severity,
)
from models.followups import FollowUp
from models.staff import Staff

SEED = 2026

# Complaint SLA used for the demo tickets: first reply within a day, resolved within a week.
FIRST_REPLY_SLA = timedelta(hours=24)
RESOLVE_SLA = timedelta(days=7)


class SeedError(Exception):
    """The demo data cannot be loaded; the message says why, in Chinese, for the CLI."""


@dataclass(frozen=True)
class StaffSpec:
    name: str
    role: Role
    simulator_id: str
    on_duty: bool = False
    # Also on WeCom: the simulator offers "张伟（销售 · 企业微信）" beside the customers.
    wecom_userid: str | None = None


STAFF: tuple[StaffSpec, ...] = (
    StaffSpec("王建国", Role.ADMIN, "sim-admin"),
    StaffSpec("陈静", Role.MANAGER, "sim-manager", on_duty=True),
    StaffSpec("李明", Role.REP, "sim-rep-1"),
    StaffSpec("张伟", Role.REP, "sim-rep-2", wecom_userid="zhangwei"),
    StaffSpec("刘洋", Role.REP, "sim-rep-3"),
)


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    company: str
    industry: str
    size: str
    category: str
    city: str
    grade: Grade
    lifecycle: Lifecycle
    # Index into the three reps, None for a customer nobody owns yet.
    owner: int | None


# name | company | industry | size | category | city | grade | lifecycle | owner rep (0-2, -).
# Two customers are called 张三 on purpose: the "which 张三?" dialog needs them.
# Surnames with a second reading (曾, 单, 解, 仇…) are avoided: plain pypinyin reads
# them wrong, and demo data should not teach the search a wrong spelling.
_CUSTOMER_TABLE = """
张三|华东精密机械有限公司|制造业|200-1000人|企业客户|上海|vip|active|0
张三|杭州云帆科技有限公司|互联网|50-200人|企业客户|杭州|normal|active|1
李娜|苏州禾丰食品有限公司|食品加工|200-1000人|企业客户|苏州|vip|active|0
王强|宁波港通物流有限公司|物流|1000人以上|企业客户|宁波|vip|active|2
赵敏|成都蜀味餐饮管理有限公司|餐饮|50-200人|连锁门店|成都|normal|active|1
孙丽|南京启航教育咨询有限公司|教育培训|1-50人|企业客户|南京|normal|dormant|2
周杰|深圳创新医疗器械有限公司|医疗器械|200-1000人|企业客户|深圳|vip|active|0
吴刚|武汉楚天建筑工程有限公司|建筑工程|1000人以上|企业客户|武汉|normal|active|1
郑晓燕|厦门海韵贸易有限公司|进出口贸易|1-50人|经销商|厦门|normal|active|2
冯磊|青岛蓝海水产有限公司|农林牧渔|50-200人|企业客户|青岛|potential|potential|0
陈晨|西安古城文旅发展有限公司|文化旅游|50-200人|企业客户|西安|potential|potential|1
何晓峰|长沙湘江电子有限公司|电子|200-1000人|企业客户|长沙|normal|dormant|2
许婷|合肥新能源汽车配件有限公司|汽车配件|200-1000人|企业客户|合肥|vip|active|1
韩冰|天津津门化工有限公司|化工|1000人以上|企业客户|天津|normal|dormant|0
杨帆|重庆山城火锅餐饮连锁有限公司|餐饮|200-1000人|连锁门店|重庆|normal|active|2
朱玉洁|昆明彩云花卉有限公司|农林牧渔|1-50人|经销商|昆明|potential|potential|0
秦岭|郑州中原粮油有限公司|食品加工|200-1000人|企业客户|郑州|normal|active|1
尤佳|无锡太湖纺织有限公司|纺织服装|200-1000人|企业客户|无锡|normal|dormant|2
吕薇|福州闽江茶业有限公司|零售|1-50人|经销商|福州|potential|potential|1
施永强|温州东瓯鞋业有限公司|制造业|200-1000人|企业客户|温州|normal|active|0
孔德明|济南泉城医药连锁有限公司|医药零售|1000人以上|连锁门店|济南|vip|active|2
曹宇|沈阳北方重工装备有限公司|制造业|1000人以上|企业客户|沈阳|potential|potential|1
严冬|大连海滨酒店管理有限公司|酒店|200-1000人|企业客户|大连|normal|active|2
金海燕|哈尔滨冰城乳业有限公司|食品加工|200-1000人|企业客户|哈尔滨|potential|dormant|0
魏晨|南昌赣鄱家居有限公司|家居建材|50-200人|经销商|南昌|potential|potential|2
陶然||||个人客户|北京|normal|active|-
姜慧|贵阳黔山大数据科技有限公司|互联网|50-200人|企业客户|贵阳|potential|potential|-
谢婉清||||个人客户|广州|normal|potential|-
邹明轩|石家庄冀中机电设备有限公司|机电设备|50-200人|经销商|石家庄|normal|dormant|1
苏晓雨|上海浦江国际贸易有限公司|进出口贸易|200-1000人|企业客户|上海|vip|active|0
"""


def _parse_customers(table: str) -> tuple[CustomerSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        name, company, industry, size, category, city, grade, lifecycle, owner = line.split("|")
        specs.append(
            CustomerSpec(
                name,
                company,
                industry,
                size,
                category,
                city,
                Grade(grade),
                Lifecycle(lifecycle),
                None if owner == "-" else int(owner),
            )
        )
    return tuple(specs)


CUSTOMERS = _parse_customers(_CUSTOMER_TABLE)

# Customer index -> simulator openid: an owned VIP, an owned regular, one without owner
# (complaints go to the manager on duty), a new individual.
SIM_CUSTOMERS = {0: "sim-cust-1", 4: "sim-cust-2", 25: "sim-cust-3", 27: "sim-cust-4"}

# Customer index -> birthday relative to today (solar), to demo the birthday prompt.
BIRTHDAY_IN_DAYS = {0: 0, 2: 3, 6: 7}
# Customer index -> lunar (month, day): 中秋, 元宵, 端午 babies.
LUNAR_BIRTHDAYS = {3: (8, 15), 12: (1, 15), 20: (5, 5)}
# Customers with no phone on file yet: leads that only left a company name.
NO_PHONE = {21, 26}

# Days from today of the next revisit on each customer's latest follow-up, cycled:
# some due today, some overdue, some coming up.
REVISIT_OFFSETS = (0, -3, 2, 0, -1, 5, 7, -6, 1, 10, 0, 3, 14, -2)

MOBILE_PREFIXES = ("138", "139", "135", "136", "150", "151", "158", "159", "186", "187", "188")
DISTRICTS = ("高新区", "经济开发区", "新城区", "中心城区", "滨江区")
ROADS = ("人民路", "建设路", "解放路", "中山路", "创业大道", "科技路", "长江路")

FOLLOWUP_TEXTS = (
    ("电话沟通了下季度的采购计划，对方希望下周看到报价。", "价格偏高，需要再谈"),
    ("上门拜访，参观了生产线，确认了设备型号和数量。", "对交期有顾虑"),
    ("微信发送了产品资料和同行案例，客户会转给技术部评估。", "需要内部讨论"),
    ("邮件发送了正式报价单，等待采购部反馈。", ""),
    ("客户反馈上一批货质量不错，准备追加订单。", "满意"),
    ("年度回访，了解使用情况，客户希望售后响应再快一些。", "整体满意"),
    ("约了技术负责人一起开视频会，讲解了实施方案。", "方案认可，等预算审批"),
    ("节前问候，顺便确认了明年的合作意向。", "意向明确"),
)
METHODS = (FollowUpMethod.PHONE, FollowUpMethod.WECHAT, FollowUpMethod.VISIT, FollowUpMethod.EMAIL)
NOTES = ("偏好微信沟通", "决策人是采购总监", "每月初集中采购", "对价格敏感", "老客户介绍", "")

# customer index, product, quantity, amount, stage, days ago created, days ago closed.
DEALS: tuple[tuple[int, str, int, str, DealStage, int, int | None], ...] = (
    (0, "数控立式加工中心 VMC850", 2, "560000.00", DealStage.SIGNED, 60, 20),
    (2, "食品包装生产线", 1, "380000.00", DealStage.NEGOTIATION, 35, None),
    (3, "仓储管理系统（年度订阅）", 1, "96000.00", DealStage.AFTER_SALES, 180, 120),
    (6, "无菌包装设备", 3, "255000.00", DealStage.QUOTE, 14, None),
    (12, "自动化检测设备", 2, "188000.00", DealStage.PROPOSAL, 9, None),
    (20, "门店收银系统", 45, "135000.00", DealStage.SIGNED, 40, 5),
    (29, "跨境物流服务（年度合同）", 1, "720000.00", DealStage.NEEDS, 4, None),
    (7, "工地监控设备", 20, "64000.00", DealStage.QUOTE, 21, None),
    (14, "中央厨房设备", 1, "158000.00", DealStage.NEGOTIATION, 28, None),
)


def ticket_no(created: datetime, seq: int, cfg: Config) -> str:
    """The ticket number as models.complaints draws them: TS + local date + sequence."""
    return draw_ticket_no(created, seq, cfg.tz)


async def seed_demo(cfg: Config, if_empty: bool = False) -> str:
    """Load the demo data set; returns a one-line summary in Chinese for the CLI."""
    if if_empty and await Staff.exists():
        return "数据库中已有员工数据，跳过演示数据导入。"
    sim_staff = [s.simulator_id for s in STAFF]
    if (
        await Staff.filter(simulator_id__in=sim_staff).exists()
        or await Customer.filter(openid__in=list(SIM_CUSTOMERS.values())).exists()
    ):
        raise SeedError("演示数据已经导入过了（模拟器身份已存在），未重复导入。")

    rng = random.Random(SEED)
    cipher = FieldCipher(cfg.data_key_bytes)
    now = datetime.now(UTC)
    today = now.astimezone(cfg.tz).date()
    counts = {"followups": 0, "deals": 0, "complaints": 0}

    # All or nothing: a failure half-way must not leave a demo database that
    # `seed --if-empty` would then consider seeded.
    async with in_transaction():
        staff = [
            await Staff.create(
                name=s.name,
                role=s.role,
                simulator_id=s.simulator_id,
                on_duty=s.on_duty,
                wecom_userid=s.wecom_userid,
            )
            for s in STAFF
        ]
        manager = staff[1]
        reps = staff[2:]

        customers: list[Customer] = []
        used_phones: set[str] = set()
        revisit_offsets = itertools.cycle(REVISIT_OFFSETS)
        for index, spec in enumerate(CUSTOMERS):
            owner = reps[spec.owner] if spec.owner is not None else None
            plan = _followup_plan(rng, now, today, spec.lifecycle, revisit_offsets)
            if owner is None:
                plan = []  # nobody has followed up an unowned customer yet
            customer = await _create_customer(
                rng, cipher, today, index, spec, owner, used_phones, plan, now
            )
            customers.append(customer)
            for when, method, content, feedback, next_on in plan:
                assert owner is not None
                await FollowUp.create(
                    customer=customer,
                    rep=owner,
                    method=method,
                    content=content,
                    feedback=feedback,
                    next_revisit_on=next_on,
                    created_at=when,
                )
                counts["followups"] += 1

        for cust_ix, product, qty, amount, stage, created_ago, closed_ago in DEALS:
            customer = customers[cust_ix]
            await Deal.create(
                customer=customer,
                owner_id=customer.owner_id,  # type: ignore[attr-defined]
                product=product,
                quantity=qty,
                amount=Decimal(amount),
                stage=stage,
                closed_on=today - timedelta(days=closed_ago) if closed_ago is not None else None,
                created_at=now - timedelta(days=created_ago),
            )
            counts["deals"] += 1

        counts["complaints"] = await _create_complaints(cfg, now, customers, reps, manager)

    return (
        f"演示数据已导入：员工 {len(staff)} 人（管理员 1、主管 1、销售 {len(reps)}），"
        f"客户 {len(customers)} 位，跟进记录 {counts['followups']} 条，"
        f"商机 {counts['deals']} 个，投诉 {counts['complaints']} 单。"
        "打开模拟器即可用这些身份体验。"
    )


FollowUpPlan = list[tuple[datetime, FollowUpMethod, str, str, date | None]]


def _followup_plan(
    rng: random.Random,
    now: datetime,
    today: date,
    lifecycle: Lifecycle,
    revisit_offsets: Iterator[int],
) -> FollowUpPlan:
    """Past follow-ups, oldest first; each one's next revisit is when the next took place."""
    if lifecycle is Lifecycle.ACTIVE:
        count, last_ago = rng.randint(2, 3), rng.randint(1, 12)
    elif lifecycle is Lifecycle.DORMANT:
        count, last_ago = 1, rng.randint(95, 200)
    else:  # potential: half of them were contacted once
        count, last_ago = rng.randint(0, 1), rng.randint(2, 10)
    # Oldest first, roughly a fortnight apart, the latest ``last_ago`` days ago.
    days_ago = [last_ago + 14 * k + rng.randint(0, 6) for k in range(count - 1, 0, -1)]
    days_ago += [last_ago] if count else []
    plan: FollowUpPlan = []
    for i, ago in enumerate(days_ago):
        when = now - timedelta(days=ago, hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
        content, feedback = rng.choice(FOLLOWUP_TEXTS)
        if i + 1 < len(days_ago):
            next_on: date | None = today - timedelta(days=days_ago[i + 1])
        elif lifecycle is Lifecycle.DORMANT:
            next_on = None  # dropped off the radar: that is what makes them dormant
        else:
            next_on = today + timedelta(days=next(revisit_offsets))
        plan.append((when, rng.choice(METHODS), content, feedback, next_on))
    return plan


async def _create_customer(
    rng: random.Random,
    cipher: FieldCipher,
    today: date,
    index: int,
    spec: CustomerSpec,
    owner: Staff | None,
    used_phones: set[str],
    plan: FollowUpPlan,
    now: datetime,
) -> Customer:
    full, initials = name_pinyin(spec.name)

    phone = None
    if index not in NO_PHONE:
        while phone is None or phone in used_phones:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        used_phones.add(phone)
    address = (
        f"{spec.city}市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
        if rng.random() < 0.8
        else None
    )

    month = day = year = None
    lunar = False
    if index in BIRTHDAY_IN_DAYS:
        birthday = today + timedelta(days=BIRTHDAY_IN_DAYS[index])
        month, day = birthday.month, birthday.day
    elif index in LUNAR_BIRTHDAYS:
        (month, day), lunar = LUNAR_BIRTHDAYS[index], True
        year = rng.randint(1965, 1995)
    elif rng.random() < 0.4:
        # Day 1-28: every month has it, so a stored year is always a valid date.
        month, day, year = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1965, 1998)

    if plan:
        last_contact = plan[-1][0]
    elif spec.lifecycle is Lifecycle.ACTIVE:
        last_contact = now - timedelta(days=rng.randint(1, 10))
    else:
        last_contact = None

    return await Customer.create(
        name=spec.name,
        name_pinyin=full,
        name_initials=initials,
        company=spec.company,
        industry=spec.industry,
        size=spec.size,
        category=spec.category,
        grade=spec.grade,
        lifecycle=spec.lifecycle,
        birthday_month=month,
        birthday_day=day,
        birthday_year=year,
        birthday_lunar=lunar,
        owner=owner,
        openid=SIM_CUSTOMERS.get(index),
        **phone_fields(cipher, phone),
        address_enc=cipher.encrypt(address) if address else None,
        notes=rng.choice(NOTES),
        last_contact_at=last_contact,
        created_at=now - timedelta(days=rng.randint(200, 700)),
    )


async def _create_complaints(
    cfg: Config, now: datetime, customers: list[Customer], reps: list[Staff], manager: Staff
) -> int:
    """Three tickets in three states: new and near its first-reply deadline, being
    worked on, closed and rated."""
    tickets = [
        # (customer index, assignee, category, severity, status, created ago, content)
        (
            25,
            manager,  # no owner: the manager on duty has it
            Category.LOGISTICS,
            Severity.HIGH,
            ComplaintStatus.OPEN,
            timedelta(hours=20),
            "收到的货有破损，外箱压坏了，里面两件商品有裂痕。",
        ),
        (
            4,
            reps[1],
            Category.SERVICE,
            Severity.MEDIUM,
            ComplaintStatus.IN_PROGRESS,
            timedelta(days=3, hours=2),
            "设备安装后一直报警，打售后电话也没人接。",
        ),
        (
            0,
            reps[0],
            Category.PRICE,
            Severity.LOW,
            ComplaintStatus.CLOSED,
            timedelta(days=9, hours=5),
            "发票抬头开错了，需要重新开具。",
        ),
    ]
    per_day: dict[str, int] = {}
    for cust_ix, assignee, category, severity, status, ago, content in tickets:
        customer = customers[cust_ix]
        created = now - ago
        day = f"{created.astimezone(cfg.tz):%Y%m%d}"
        per_day[day] = per_day.get(day, 0) + 1
        replied = created + timedelta(hours=2) if status != ComplaintStatus.OPEN else None
        resolved = created + timedelta(days=2) if status == ComplaintStatus.CLOSED else None
        closed = status == ComplaintStatus.CLOSED
        complaint = await Complaint.create(
            ticket_no=ticket_no(created, per_day[day], cfg),
            customer=customer,
            category=category,
            severity=severity,
            # VIP customers' complaints are one step more urgent, as at intake.
            urgency=2 if customer.grade == Grade.VIP else 1,
            priority=priority_of(severity, 2 if customer.grade == Grade.VIP else 1),
            # The demo customers talk through the simulator: replies go back there.
            channel="simulator" if (customer.openid or "").startswith("sim-") else "oa",
            status=status,
            assignee=assignee,
            content=content,
            first_reply_due=created + FIRST_REPLY_SLA,
            resolve_due=created + RESOLVE_SLA,
            first_replied_at=replied,
            resolved_at=resolved,
            resolution="已重新开具发票并快递寄出，单号已发给客户。" if closed else "",
            rating=5 if closed else None,
            rating_comment="处理很快，谢谢！" if closed else "",
            rated_at=resolved + timedelta(hours=3) if resolved is not None else None,
            created_at=created,
        )
        cust_actor, staff_actor = f"customer:{customer.id}", f"staff:{assignee.id}"
        events = [(created, cust_actor, "created", content)]
        events.append((created + timedelta(minutes=5), "system", "assigned", assignee.name))
        if replied is not None:
            events.append((replied, staff_actor, "replied", "您好，已收到您的反馈，正在处理。"))
        if resolved is not None:
            events.append((resolved, staff_actor, "closed", complaint.resolution))
            events.append((resolved + timedelta(hours=3), cust_actor, "rated", "5 分"))
        for when, actor, kind, note in events:
            await ComplaintEvent.create(
                complaint=complaint, actor=actor, kind=kind, note=note, created_at=when
            )
    return len(tickets)
