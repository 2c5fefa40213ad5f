"""The demo's people: one account per role, three dealerships, and the applicants of generated files.

The accounts and dealers are made through the ORM one by one (there are a dozen); a walk-in
applicant is planned here and written in bulk by ``demo.bulk``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.roles import STAFF_ROLES, Role
from applications.choices import Employment
from applications.models import Dealer, LoanApplication
from common.pii import id_check_character, keyed_hash

# Published in the README: every demo account signs in with it. The command refuses without DEBUG.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105


@dataclass(frozen=True)
class Persona:
    username: str
    role: str  # a Role value (the group name); "" for the superuser
    last_name: str
    first_name: str
    phone: str = ""
    dealer_code: str = ""  # dealer staff work at this dealership

    @property
    def is_superuser(self) -> bool:
        return not self.role

    @property
    def is_staff(self) -> bool:
        return self.is_superuser or self.role in STAFF_ROLES


PERSONAS: tuple[Persona, ...] = (
    Persona("demo_customer", Role.CUSTOMER, "王", "芳", phone="13800001234"),
    Persona("demo_customer2", Role.CUSTOMER, "李", "志强", phone="13800005678"),
    Persona("demo_dealer", Role.DEALER, "张", "丽娜", dealer_code="bj-huatong"),
    # Walk-in applications at the other two showrooms need someone who works there to submit them.
    Persona("demo_dealer2", Role.DEALER, "陈", "思远", dealer_code="sh-shenhui"),
    Persona("demo_dealer3", Role.DEALER, "黄", "嘉欣", dealer_code="sz-pengcheng"),
    Persona("demo_reviewer", Role.REVIEWER, "刘", "洋"),
    Persona("demo_reviewer2", Role.REVIEWER, "赵", "敏"),
    Persona("demo_approver", Role.APPROVER, "孙", "建国"),
    Persona("demo_senior", Role.SENIOR_APPROVER, "周", "文华"),
    Persona("demo_ops", Role.OPERATIONS, "吴", "婷"),
    Persona("demo_finance", Role.FINANCE, "郑", "凯"),
    Persona("demo_manager", Role.MANAGER, "何", "静"),
    Persona("demo_admin", "", "冯", "磊"),
)

# Applications created by these accounts are demo applications: the idempotency check counts them.
DEMO_CREATORS = tuple(p.username for p in PERSONAS if p.role in (Role.CUSTOMER, Role.DEALER))


@dataclass(frozen=True)
class DealerSpec:
    code: str
    name: str
    region: str
    # GB/T 2260 codes of districts around the showroom: most buyers' ID numbers start with one.
    districts: tuple[str, ...]


DEALERS: tuple[DealerSpec, ...] = (
    DealerSpec(
        "bj-huatong", "北京华通汽车销售服务有限公司", "北京", ("110105", "110108", "110101", "110106")
    ),
    DealerSpec(
        "sh-shenhui", "上海申汇汽车销售服务有限公司", "上海", ("310115", "310104", "310101", "310112")
    ),
    DealerSpec(
        "sz-pengcheng", "深圳鹏程新能源汽车销售有限公司", "深圳", ("440305", "440304", "440303", "440306")
    ),
)
# Buyers who moved to the city: Hebei, Jiangsu, Zhejiang, Anhui, Jiangxi, Shandong, Henan, Hubei,
# Hunan, Guangdong, Guangxi, Chongqing, Sichuan, Shaanxi, Heilongjiang, Liaoning.
ORIGIN_DISTRICTS = (
    "130102", "320102", "330106", "340104", "360102", "370102", "410105", "420102",
    "430102", "440103", "450102", "500103", "510104", "610113", "230102", "210102",
)  # fmt: skip


def demo_dealers_ensure() -> tuple[dict[str, Dealer], int]:
    """The three demo dealers by code, and how many had to be created."""
    dealers, created = {}, 0
    for spec in DEALERS:
        dealer, was_created = Dealer.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "region": spec.region}
        )
        dealers[spec.code], created = dealer, created + was_created
    return dealers, created


def demo_accounts_ensure(*, dealers: dict[str, Dealer]) -> tuple[dict[str, Any], int]:
    """Every persona's account by username, and how many had to be created.

    Existing accounts keep their password (someone may have changed it on purpose); their roles and
    dealership are put back. The password is hashed once for all new accounts: PBKDF2 takes a
    noticeable fraction of a second per hash, and a shared salt hides nothing for a published one.
    """
    user_model = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    if set(groups) != set(Role.values):
        raise ImproperlyConfigured("The role groups are missing: run `manage.py migrate` first.")
    users = {
        user.username: user for user in user_model.objects.filter(username__in=[p.username for p in PERSONAS])
    }
    password = make_password(DEMO_PASSWORD) if len(users) < len(PERSONAS) else ""
    created = 0
    for persona in PERSONAS:
        user = users.get(persona.username)
        if user is None:
            user = user_model(
                username=persona.username,
                first_name=persona.first_name,
                last_name=persona.last_name,
                email=f"{persona.username}@example.cn",
                is_staff=persona.is_staff,
                is_superuser=persona.is_superuser,
                password=password,
            )
            if persona.phone:
                user.set_phone(persona.phone)
            user.save()
            users[persona.username] = user
            created += 1
        if persona.role:
            user.groups.add(groups[persona.role])
        if persona.dealer_code:
            dealers[persona.dealer_code].staff.add(user)
    return users, created


def demo_applications_count() -> int:
    return LoanApplication.objects.filter(created_by__username__in=DEMO_CREATORS).count()


# --- Applicants' names, employers and phones ------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES_MALE = (
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "超", "明", "刚", "辉", "鹏", "飞", "鑫", "波",
    "斌", "宇", "浩", "凯", "健", "俊", "旭", "宁", "建国", "志强", "俊杰", "子轩", "浩然", "宇航",
    "文博", "家豪", "晨阳", "思远", "明轩", "振华", "海涛", "国栋", "晓东", "立新",
)  # fmt: skip
GIVEN_NAMES_FEMALE = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "玲", "婷", "雪", "慧", "颖", "琳", "倩",
    "晶", "欣怡", "雨涵", "梓涵", "诗琪", "佳怡", "思雨", "梦琪", "静怡", "晓燕", "丽华", "美玲",
    "雅婷", "嘉欣", "文静", "婉清",
)  # fmt: skip
EMPLOYER_NAMES = ("华信", "博远", "中科", "恒达", "鑫源", "新航", "嘉禾", "云启", "瑞丰", "同创", "启明", "安泰")  # fmt: skip
INDUSTRIES = (
    "科技", "贸易", "建设工程", "医疗器械", "物流", "文化传媒", "电子", "信息技术", "餐饮管理", "教育咨询",
)  # fmt: skip
SELF_EMPLOYED = (
    "个体经营（餐饮）", "个体经营（服装零售）", "个体工商户（物流运输）", "自营网店", "个人工作室（设计）",
)  # fmt: skip
CITY_OF_DISTRICT = {"11": "北京", "31": "上海", "44": "深圳"}
MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
    "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188",
    "189", "198", "199",
)  # fmt: skip


@dataclass
class Buyer:
    """A walk-in buyer's account, created before their application (its history names them)."""

    username: str
    last_name: str
    first_name: str
    male: bool
    pk: int | None = None


@dataclass
class Person:
    full_name: str
    last_name: str
    first_name: str
    id_number: str
    birth_date: dt.date
    phone: str
    employment: str
    employer: str
    monthly_income: Decimal
    monthly_debt: Decimal

    @property
    def id_number_hash(self) -> str:
        return keyed_hash(self.id_number)


def buyer_name(rng: random.Random) -> tuple[str, str, bool]:
    """Surname, given name and whether the name is a man's."""
    male = rng.random() < 0.55
    return rng.choice(SURNAMES), rng.choice(GIVEN_NAMES_MALE if male else GIVEN_NAMES_FEMALE), male


def id_number_draw(
    rng: random.Random, district: str, birth: dt.date, *, poor_credit: bool, male: bool, blacklist: set[str]
) -> str:
    """A GB 11643 number that is not on the blacklist (by keyed hash): the 17th digit is odd for a
    man. The sandbox bureau reads serials 8xx/9xx as a poor record."""
    while True:
        first = rng.choice("89") if poor_credit else str(rng.randint(0, 7))
        sex_digit = rng.choice("13579" if male else "02468")
        first17 = f"{district}{birth:%Y%m%d}{first}{rng.randint(0, 9)}{sex_digit}"
        number = first17 + id_check_character(first17)
        if not blacklist or keyed_hash(number) not in blacklist:
            return number


def walk_in_person(
    rng: random.Random,
    *,
    districts: tuple[str, ...],
    created: dt.datetime,
    poor_credit: bool,
    buyer: Buyer | None,
    blacklist: set[str],
) -> Person:
    """A walk-in applicant at the dealership around ``districts``; a buyer with an account keeps the
    account's name. The income is left at zero: ``loans.fit_income`` sets it to fit the loan."""
    birth = (timezone.localtime(created) - dt.timedelta(days=rng.randint(22 * 366, 55 * 365 - 10))).date()
    district = rng.choice(districts) if rng.random() < 0.7 else rng.choice(ORIGIN_DISTRICTS)
    last, first, male = buyer_name(rng) if buyer is None else (buyer.last_name, buyer.first_name, buyer.male)
    number = id_number_draw(rng, district, birth, poor_credit=poor_credit, male=male, blacklist=blacklist)
    roll = rng.random()
    city = CITY_OF_DISTRICT.get(districts[0][:2], "")
    if roll < 0.72:
        employment = Employment.EMPLOYED
        employer = f"{city}{rng.choice(EMPLOYER_NAMES)}{rng.choice(INDUSTRIES)}有限公司"
    elif roll < 0.94:
        employment, employer = Employment.SELF_EMPLOYED, rng.choice(SELF_EMPLOYED)
    else:
        employment, employer = Employment.OTHER, ""
    debt = Decimal(0) if rng.random() < 0.35 else Decimal(round(rng.uniform(300, 5000), -1))
    return Person(
        full_name=last + first,
        last_name=last,
        first_name=first,
        id_number=number,
        birth_date=birth,
        phone=rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
        employment=employment,
        employer=employer,
        monthly_income=Decimal(0),
        monthly_debt=debt.quantize(Decimal("0.01")),
    )


def customer_person(username: str) -> Person:
    """A demo customer is one person across all their files: same name, ID, phone and income."""
    persona = next(p for p in PERSONAS if p.username == username)
    birth = dt.date(1988, 6, 15) if username == "demo_customer" else dt.date(1979, 11, 3)
    district = "110105" if username == "demo_customer" else "310115"
    serial = "262" if username == "demo_customer" else "371"
    first17 = f"{district}{birth:%Y%m%d}{serial}"
    return Person(
        full_name=persona.last_name + persona.first_name,
        last_name=persona.last_name,
        first_name=persona.first_name,
        id_number=first17 + id_check_character(first17),
        birth_date=birth,
        phone=persona.phone,
        employment=Employment.EMPLOYED,
        employer="北京华信科技有限公司" if username == "demo_customer" else "上海博远贸易有限公司",
        monthly_income=Decimal("42000.00") if username == "demo_customer" else Decimal("36000.00"),
        monthly_debt=Decimal("1500.00"),
    )
