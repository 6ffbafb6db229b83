"""What the demo book holds (``wecrm seed``, ``bot.seed``): the team, thirty customers,
their deals and the words their follow-ups use — data only, loaded relative to today by
``bot.seed``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from models.enums import DealStage, FollowUpMethod, Grade, Lifecycle, Role

SEED = 2026

# Complaint SLA used for the demo tickets: first reply within a day, resolved within a week.
FIRST_REPLY_SLA = timedelta(hours=24)
RESOLVE_SLA = timedelta(days=7)


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
