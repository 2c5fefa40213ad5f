"""Demo data for ``make run``: one account per role, three dealers, and applications with real histories.

Why the applications are not built through ``services``: the service path locks and saves one row at
a time, which would take hours for 100,000 applications. Instead each application's history is
planned along the state machine's own transitions (their targets are read from the model, so no
invented step can slip in), given realistic times around each stage's time limit, and inserted in
bulk. The rows are the ones the services would have written: the same transition and document
events, the same hash chain (``StageEvent.compute_hash``), the same pre-check outcome
(``precheck.evaluate`` on the sandbox bureau), documents on file wherever a transition's condition
needs them, a customer account wherever a step only the applicant may take was taken (a dealer's
walk-in buyer gets one, as they need it to accept the offer).

Planning, hashing and encryption are pure Python and take most of the time, so batches are prepared
in worker processes while the main process inserts them, all in one transaction.

Nothing here may run against real customers' data: the command refuses unless ``DEBUG`` is on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import random
import secrets
import struct
import time
import uuid
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache, partial
from itertools import accumulate, islice
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, models, router, transaction
from django.utils import timezone

from accounts.roles import STAFF_ROLES, Role
from common.pii import id_check_character, keyed_hash

from .bureau import SandboxBureau
from .choices import (
    CUSTOMER_STAGES,
    FINAL_STAGES,
    NEW_ENERGY_POWERTRAINS,
    DocumentStatus,
    Employment,
    EventKind,
    Powertrain,
    ReasonKind,
    Stage,
    income_band_of,
)
from .models import (
    DOCUMENTS_STAGE,
    GENESIS_HASH,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    Applicant,
    BlacklistEntry,
    Consent,
    Dealer,
    Document,
    DocumentRequest,
    DocumentType,
    LoanApplication,
    LoanProduct,
    Reason,
    StageDefinition,
    StageEvent,
)
from .money import annuity_payment
from .precheck import PrecheckInput, PrecheckResult, evaluate

# --- The cast ------------------------------------------------------------------------------------

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


# --- What the applications are made of ----------------------------------------------------------

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


@dataclass(frozen=True)
class Vehicle:
    make: str
    model: str
    powertrain: str
    low: int  # guide price range in CNY, within 100k–500k
    high: int
    weight: int  # how often it is financed, roughly


VEHICLES: tuple[Vehicle, ...] = (
    Vehicle("比亚迪", "汉 EV", Powertrain.BATTERY_ELECTRIC, 209_800, 299_800, 8),
    Vehicle("比亚迪", "汉 DM-i", Powertrain.PLUG_IN_HYBRID, 169_800, 259_800, 6),
    Vehicle("比亚迪", "秦PLUS DM-i", Powertrain.PLUG_IN_HYBRID, 100_000, 135_800, 9),
    Vehicle("比亚迪", "海豹", Powertrain.BATTERY_ELECTRIC, 179_800, 289_800, 6),
    Vehicle("比亚迪", "唐 DM-i", Powertrain.PLUG_IN_HYBRID, 209_800, 289_800, 4),
    Vehicle("特斯拉", "Model 3", Powertrain.BATTERY_ELECTRIC, 231_900, 335_900, 8),
    Vehicle("特斯拉", "Model Y", Powertrain.BATTERY_ELECTRIC, 249_900, 354_900, 9),
    Vehicle("理想", "L7", Powertrain.PLUG_IN_HYBRID, 301_800, 379_800, 5),
    Vehicle("理想", "L9", Powertrain.PLUG_IN_HYBRID, 409_800, 459_800, 2),
    Vehicle("蔚来", "ET5", Powertrain.BATTERY_ELECTRIC, 298_000, 356_000, 2),
    Vehicle("小鹏", "P7+", Powertrain.BATTERY_ELECTRIC, 186_800, 218_800, 3),
    Vehicle("问界", "M7", Powertrain.PLUG_IN_HYBRID, 249_800, 329_800, 3),
    Vehicle("大众", "帕萨特", Powertrain.FUEL, 181_900, 259_900, 7),
    Vehicle("大众", "途观L", Powertrain.FUEL, 199_900, 276_900, 5),
    Vehicle("丰田", "凯美瑞", Powertrain.FUEL, 171_800, 206_800, 6),
    Vehicle("丰田", "凯美瑞 双擎", Powertrain.HYBRID, 209_800, 259_800, 3),
    Vehicle("丰田", "RAV4荣放", Powertrain.FUEL, 174_800, 259_800, 5),
    Vehicle("本田", "雅阁", Powertrain.FUEL, 169_800, 229_800, 5),
    Vehicle("本田", "CR-V 锐·混动", Powertrain.HYBRID, 199_900, 259_900, 3),
    Vehicle("宝马", "3系", Powertrain.FUEL, 299_900, 404_900, 5),
    Vehicle("宝马", "5系", Powertrain.FUEL, 439_900, 499_900, 2),
    Vehicle("奔驰", "C级", Powertrain.FUEL, 334_900, 479_900, 3),
    Vehicle("奥迪", "A4L", Powertrain.FUEL, 321_800, 409_800, 3),
    Vehicle("雷克萨斯", "ES 300h", Powertrain.HYBRID, 329_000, 459_000, 2),
    Vehicle("吉利", "星越L", Powertrain.FUEL, 138_700, 185_700, 4),
    Vehicle("长安", "CS75 PLUS", Powertrain.FUEL, 109_900, 149_900, 4),
)
VEHICLE_CUM_WEIGHTS = list(accumulate(v.weight for v in VEHICLES))
TERM_WEIGHTS = {12: 5, 24: 20, 36: 45, 48: 12, 60: 18}

# Requests above this go to the senior approver, as in the default assignment rules (reviews app).
SENIOR_APPROVAL_THRESHOLD = Decimal("300000")

# The stage mix of a live portfolio: most files still open, a share already closed.
STAGE_WEIGHTS = {
    Stage.DRAFT: 7,
    Stage.SUBMITTED: 1,
    Stage.CREDIT_CHECK: 1,
    Stage.UNDER_REVIEW: 15,
    Stage.AWAITING_DOCUMENTS: 7,
    Stage.APPROVAL: 8,
    Stage.OFFER_PENDING: 7,
    Stage.CONTRACT_SIGNING: 5,
    Stage.LIEN_REGISTRATION: 6,
    Stage.DISBURSEMENT: 3,
    Stage.DISBURSED: 22,
    Stage.REJECTED: 10,
    Stage.WITHDRAWN: 4,
    Stage.EXPIRED: 4,
}
# How an application reached an end (or awaiting documents): variant -> weight.
VARIANTS = {
    Stage.AWAITING_DOCUMENTS: {"precheck": 25, "review": 75},
    Stage.REJECTED: {"precheck": 30, "review": 45, "approval": 25},
    Stage.WITHDRAWN: {
        Stage.DRAFT: 15,
        Stage.UNDER_REVIEW: 20,
        Stage.AWAITING_DOCUMENTS: 15,
        Stage.APPROVAL: 10,
        Stage.OFFER_PENDING: 30,
        Stage.CONTRACT_SIGNING: 10,
    },
    Stage.EXPIRED: {"documents": 40, "offer": 60},
}

ON_TIME, AT_RISK, BREACHED = "on_time", "at_risk", "breached"
SLA_STATUS_WEIGHTS = {ON_TIME: 65, AT_RISK: 20, BREACHED: 15}
# Share of the time limit already used, per SLA state (at risk is past 80%, breached past 100%).
# The margins keep a state for a while after seeding, so a page opened a minute later agrees.
ELAPSED_SHARE = {ON_TIME: (0.03, 0.72), AT_RISK: (0.83, 0.97), BREACHED: (1.05, 2.2)}

# Preferred reason codes; any active reason of the right kind stands in when the catalogue changed.
REVIEW_REJECTIONS = ("income_unverified", "credit_history", "risk_check_failed")
APPROVAL_DECLINES = ("risk_check_failed", "income_unverified", "credit_history")
DELAY_REASONS = {
    Stage.SUBMITTED: ("bureau_unavailable",),
    Stage.CREDIT_CHECK: ("bureau_unavailable",),
    Stage.UNDER_REVIEW: ("high_volume", "additional_verification"),
    Stage.APPROVAL: ("high_volume", "additional_verification"),
    Stage.LIEN_REGISTRATION: ("third_party_wait",),
}
EXPIRY_REASONS = {
    Stage.AWAITING_DOCUMENTS: "documents_not_supplied",
    Stage.OFFER_PENDING: "offer_not_accepted",
}
# A reviewer's document request: reason -> the document type asked for, and whether it replaces one
# on file (which the reviewer then rejects with that reason).
DOCUMENT_REQUESTS = {
    "more_income_proof": ("bank_statement", False),
    "photo_unreadable": ("id_card_front", True),
    "document_expired": ("id_card_back", True),
    "information_mismatch": ("income_proof", True),
}
DOCUMENT_FILE_NAMES = {
    "id_card_front": "身份证人像面.png",
    "id_card_back": "身份证国徽面.png",
    "driving_licence": "驾驶证.png",
    "income_proof": "收入证明.png",
    "bank_statement": "银行流水.png",
    "vehicle_invoice": "机动车销售统一发票.png",
}

NOTES = {
    "submit_dealer": ("客户在展厅完成申请资料填写。", "客户已现场签署授权书。", ""),
    "recommend_approval": (
        "收入稳定，负债率合理，征信记录良好，建议批准。",
        "工作单位已电话核实，建议按申请额度批准。",
        "首付比例较高，风险可控，建议批准。",
        "",
    ),
    "resume_review": ("资料已补齐，继续审核。", ""),
    "return_to_review": ("请补充核实申请人工作单位及收入来源。", "请复核银行流水中的大额转入。"),
    "approve": ("按申请额度批准。", "", ""),
    "approve_reduced": ("综合负债情况，下调批准额度。",),
    "decline_offer": ("已在其他机构办理贷款。", "月供高于预期。", ""),
    "withdraw": ("暂不购车。", "改为全款购车。", "更换车型，重新申请。", ""),
    "sign_contract": ("电子合同已签署完成。", ""),
    "register_lien": ("车管所抵押登记已办结。", ""),
    "disburse": ("已放款至经销商账户。", ""),
}
REASON_NOTES = {
    "more_income_proof": "收入证明金额与银行流水不符，请补充近6个月工资卡流水。",
    "photo_unreadable": "身份证人像面照片反光，无法识别。",
    "document_expired": "身份证已过有效期，请上传新证件。",
    "information_mismatch": "收入证明上的姓名与申请人不一致。",
    "income_unverified": "申报收入无法通过银行流水核实。",
    "credit_history": "征信报告显示近两年有多次逾期记录。",
    "risk_check_failed": "综合风险评估未通过。",
}

# Transitions only the applicant may take (``_is_applicant``): a file whose history has one needs a
# customer account, even when a dealer submitted it for a walk-in buyer. These are the stages whose
# every route passes one.
CUSTOMER_ONLY = frozenset({"accept_offer", "decline_offer", "withdraw"})
NEEDS_CUSTOMER = frozenset(
    {Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION, Stage.DISBURSEMENT, Stage.DISBURSED, Stage.WITHDRAWN}
)
SYSTEM_TRANSITIONS = frozenset(
    {"start_credit_check", "pass_precheck", "precheck_needs_documents", "fail_precheck", "expire"}
)
PRECHECK_TRANSITIONS = frozenset({"pass_precheck", "precheck_needs_documents", "fail_precheck"})


@cache
def transition_target(name: str, source: str) -> str:
    """Where the model's transition ``name`` leads from ``source``; ValueError when it does not exist.

    Read from the state machine itself, so a demo history can only take steps the services could.
    """
    if name == "create":
        if source:
            raise ValueError("an application is created once")
        return Stage.DRAFT.value
    method = getattr(LoanApplication, name, None)
    spec = method._django_fsm.get_transition(source) if hasattr(method, "_django_fsm") else None
    if spec is None:
        raise ValueError(f"no transition {name!r} from {source!r}")
    return str(spec.target)


# --- Placeholder document images ----------------------------------------------------------------


def _png(width: int, height: int, fill: tuple[int, int, int], frame: tuple[int, int, int]) -> bytes:
    """A small framed PNG built by hand: demo documents need a viewable file, not a real scan."""
    border = 6
    edge = bytes(frame) * width
    middle = bytes(frame) * border + bytes(fill) * (width - 2 * border) + bytes(frame) * border
    rows = [edge if y < border or y >= height - border else middle for y in range(height)]
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _placeholder_files(codes: Sequence[str]) -> dict[str, tuple[str, int]]:
    """One shared image per document type under ``documents/demo/``: code -> (file name, size)."""
    files = {}
    for number, code in enumerate(sorted(codes)):
        name = f"documents/demo/{code}.png"
        if not default_storage.exists(name):
            tint = 200 + (number * 9) % 50
            default_storage.save(name, ContentFile(_png(320, 200, (245, 245, tint), (120, 130, 150))))
        files[code] = (name, default_storage.size(name))
    return files


# --- Planning one application -------------------------------------------------------------------


@dataclass
class Buyer:
    """A walk-in buyer's account, created before their application (its history names them)."""

    username: str
    last_name: str
    first_name: str
    male: bool
    pk: int | None = None


@dataclass(frozen=True)
class Spec:
    """What to generate: the stage to end in, how it got there, and its SLA state if open."""

    stage: str
    variant: str | None = None
    sla_status: str | None = None
    owner: str | None = None  # a demo customer's username, or None for a dealer walk-in
    reference: str = ""
    buyer: Buyer | None = None


# The demo customers' own files: something to show in every part of the customer pages.
CUSTOMER_FILES: tuple[Spec, ...] = (
    Spec(Stage.DISBURSED, owner="demo_customer"),
    Spec(Stage.OFFER_PENDING, sla_status=ON_TIME, owner="demo_customer"),
    Spec(Stage.AWAITING_DOCUMENTS, variant="review", sla_status=ON_TIME, owner="demo_customer"),
    Spec(Stage.UNDER_REVIEW, sla_status=AT_RISK, owner="demo_customer"),
    Spec(Stage.DRAFT, owner="demo_customer"),
    Spec(Stage.CONTRACT_SIGNING, sla_status=ON_TIME, owner="demo_customer2"),
    Spec(Stage.REJECTED, variant="review", owner="demo_customer2"),
    Spec(Stage.EXPIRED, variant="offer", owner="demo_customer2"),
)


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


@dataclass
class Loan:
    vehicle: Vehicle
    product: LoanProduct
    price: Decimal
    down_payment: Decimal
    requested: Decimal
    term: int


@dataclass
class PlannedDocument:
    code: str
    uploaded_at: dt.datetime
    uploaded_by: Any
    public_id: uuid.UUID
    status: str = DocumentStatus.PENDING
    reviewed_by: Any = None
    reviewed_at: dt.datetime | None = None
    rejection_reason: str = ""


@dataclass
class Step:
    """One history event: a transition (``name``) or, with ``kind`` document, an upload or verdict."""

    name: str
    from_stage: str
    to_stage: str
    at: dt.datetime
    actor: Any  # a user, or None for the system
    note: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = EventKind.TRANSITION.value


@dataclass
class Bundle:
    """Everything one application writes, before the bulk inserts (which fill in the ids)."""

    application: dict[str, Any]  # the LoanApplication row, by attname
    person: Person
    creator: Any
    steps: list[Step]
    consented_at: dt.datetime | None
    documents: list[PlannedDocument]
    requests: list[tuple[str, str, dt.datetime, Any]]  # type code, reason code, time, reviewer


@dataclass
class GenerationResult:
    applications: int = 0
    events: int = 0
    documents: int = 0
    buyer_accounts: int = 0
    by_stage: Counter = field(default_factory=Counter)
    seed: int = 0  # pass it back as ``seed`` to generate the same mix again
    rebuild_seconds: float = 0.0  # putting back the indexes and foreign keys after a bulk load


def _random_reference() -> str:
    """A reference as ``new_reference`` makes it (same alphabet, length and randomness), from one
    draw of the system's random source instead of one per character: a million references took a
    minute the other way."""
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    symbols = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        symbols.append(REFERENCE_ALPHABET[digit])
    return "".join(symbols)


def _pick(rng: random.Random, weights: dict) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    return start + (end - start) * rng.uniform(0.05, 0.95)


def buyer_name(rng: random.Random) -> tuple[str, str, bool]:
    """Surname, given name and whether the name is a man's."""
    male = rng.random() < 0.55
    return rng.choice(SURNAMES), rng.choice(GIVEN_NAMES_MALE if male else GIVEN_NAMES_FEMALE), male


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    """Waiting times are skewed: many short, a few long."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))


class _Generator:
    """Plans demo applications and prepares their rows against one snapshot of configuration and
    cast, loaded once (a forked worker inherits it)."""

    def __init__(
        self, *, users: dict[str, Any], dealers: dict[str, Dealer], now: dt.datetime, rng: random.Random
    ):
        self.now, self.rng = now, rng
        self.users = users
        self.dealers = [dealers[spec.code] for spec in DEALERS]
        self.districts = {dealers[spec.code].pk: spec.districts for spec in DEALERS}
        self.dealer_staff = {dealers[p.dealer_code].pk: users[p.username] for p in PERSONAS if p.dealer_code}
        self.reviewers = [users["demo_reviewer"], users["demo_reviewer2"]]
        self.sla = dict(StageDefinition.objects.values_list("stage", "sla"))
        self.products = {p.code: p for p in LoanProduct.objects.filter(is_active=True)}
        if "standard" not in self.products:
            raise ImproperlyConfigured("The demo needs the active loan product 'standard'.")
        self.reasons: dict[str, set[str]] = defaultdict(set)
        for code, kind in Reason.objects.filter(is_active=True).values_list("code", "kind"):
            self.reasons[kind].add(code)
        doc_types = {t.code: t for t in DocumentType.objects.all()}
        self.doc_type_ids = {code: t.pk for code, t in doc_types.items()}
        required = defaultdict(list)
        for stage, code in StageDefinition.objects.filter(required_document_types__isnull=False).values_list(
            "stage", "required_document_types__code"
        ):
            required[stage].append(code)
        self.review_documents = sorted(required[DOCUMENTS_STAGE])
        self.document_requests = {
            reason: spec
            for reason, spec in DOCUMENT_REQUESTS.items()
            if reason in self.reasons[ReasonKind.DOCUMENT] and spec[0] in doc_types
        }
        self.files = _placeholder_files(list(doc_types))
        self.blacklist = set(BlacklistEntry.objects.values_list("id_number_hash", flat=True))
        self.references = set(LoanApplication.objects.values_list("reference", flat=True))
        self.bureau = SandboxBureau()
        self.reason_ids = dict(Reason.objects.values_list("code", "pk"))
        self.customer_group = Group.objects.get(name=Role.CUSTOMER)
        self.customer_people: dict[str, Person] = {}
        self.unusable_password = make_password(None)

    # --- Specs ------------------------------------------------------------------------------

    def specs(self, count: int, *, customer_files: bool) -> list[Spec]:
        """``count`` specs: the demo customers' files, then every stage once, then the weighted mix.

        The first open files with a time limit of an hour or more are on time, at risk and breached,
        so even a small demo shows all three SLA states.
        """
        fixed = list(CUSTOMER_FILES[:count]) if customer_files else []
        stages = list(Stage.values)[: count - len(fixed)]
        stages += self.rng.choices(
            list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()), k=count - len(fixed) - len(stages)
        )
        forced = [ON_TIME, AT_RISK, BREACHED]
        specs = [replace(spec, reference=self.new_reference()) for spec in fixed]
        for stage in stages:
            status = None
            if stage not in FINAL_STAGES and self.sla.get(stage):
                long_enough = self.sla[stage] >= dt.timedelta(hours=1)
                status = forced.pop(0) if forced and long_enough else _pick(self.rng, SLA_STATUS_WEIGHTS)
            variant = _pick(self.rng, VARIANTS[stage]) if stage in VARIANTS else None
            reference, buyer = self.new_reference(), None
            if stage in NEEDS_CUSTOMER:
                # The dealer submitted for a walk-in buyer, who needs an account to accept the offer
                # or withdraw; they sign in by SMS, so the account has no password.
                buyer = Buyer(f"buyer_{reference.lower()}", *buyer_name(self.rng))
            specs.append(Spec(stage, variant=variant, sla_status=status, reference=reference, buyer=buyer))
        return specs

    # --- Paths and times --------------------------------------------------------------------

    def path(self, stage: str, variant: str | None = None) -> list[str]:
        """Transition names from "create" to ``stage``, along one realistic route."""
        rng = self.rng
        intake = ["create", "submit", "start_credit_check"]

        def to_review() -> list[str]:
            if rng.random() < 0.08:
                return [*intake, "precheck_needs_documents", "resume_review"]
            return [*intake, "pass_precheck"]

        def reviewed() -> list[str]:
            route = to_review()
            if self.document_requests and rng.random() < 0.18:
                route += ["request_documents", "resume_review"]
            return route

        def to_approval() -> list[str]:
            route = [*reviewed(), "recommend_approval"]
            if rng.random() < 0.06:
                route += ["return_to_review", "recommend_approval"]
            return route

        def to_offer() -> list[str]:
            return [*to_approval(), "approve"]

        match stage:
            case Stage.DRAFT:
                return ["create"]
            case Stage.SUBMITTED:
                return intake[:2]
            case Stage.CREDIT_CHECK:
                return intake
            case Stage.UNDER_REVIEW:
                return [*to_approval(), "return_to_review"] if rng.random() < 0.04 else reviewed()
            case Stage.AWAITING_DOCUMENTS:
                if variant == "precheck" or not self.document_requests:
                    return [*intake, "precheck_needs_documents"]
                return [*reviewed(), "request_documents"]
            case Stage.APPROVAL:
                return to_approval()
            case Stage.OFFER_PENDING:
                return to_offer()
            case Stage.CONTRACT_SIGNING:
                return [*to_offer(), "accept_offer"]
            case Stage.LIEN_REGISTRATION:
                return [*to_offer(), "accept_offer", "sign_contract"]
            case Stage.DISBURSEMENT:
                return [*to_offer(), "accept_offer", "sign_contract", "register_lien"]
            case Stage.DISBURSED:
                return [*to_offer(), "accept_offer", "sign_contract", "register_lien", "disburse"]
            case Stage.REJECTED:
                if variant == "precheck":
                    return [*intake, "fail_precheck"]
                if variant == "approval":
                    return [*to_approval(), "decline"]
                return [*reviewed(), "reject_in_review"]
            case Stage.WITHDRAWN:
                source = variant or Stage.UNDER_REVIEW
                last = "decline_offer" if source == Stage.OFFER_PENDING else "withdraw"
                return [*self.path(source, "review"), last]
            case Stage.EXPIRED:
                source = Stage.AWAITING_DOCUMENTS if variant == "documents" else Stage.OFFER_PENDING
                return [*self.path(source, "review"), "expire"]
        raise ValueError(f"unknown stage {stage!r}")

    def dwell(self, stage: str, leaving_by: str) -> dt.timedelta:
        """How long a past stay in ``stage`` lasted before ``leaving_by`` took the file on."""
        rng, sla = self.rng, self.sla.get(stage)
        if leaving_by == "expire":  # the sweep notices a few minutes after the deadline
            return (sla or dt.timedelta(days=7)) + dt.timedelta(minutes=rng.uniform(1, 30))
        if stage == Stage.DRAFT:
            return dt.timedelta(minutes=_log_uniform(rng, 8, 2 * 24 * 60))
        if stage == Stage.SUBMITTED:  # the pre-check is queued on commit; the sweep catches stragglers
            return dt.timedelta(seconds=rng.uniform(1, 30) if rng.random() < 0.93 else rng.uniform(60, 180))
        if stage == Stage.CREDIT_CHECK:  # the bureau answers in seconds, unless it is retried
            return dt.timedelta(seconds=rng.uniform(2, 60) if rng.random() < 0.95 else rng.uniform(120, 900))
        if stage == Stage.AWAITING_DOCUMENTS:
            return dt.timedelta(hours=_log_uniform(rng, 2, 6 * 24))
        if stage == Stage.OFFER_PENDING:  # accepted or declined while the offer still stands
            limit = (sla or dt.timedelta(days=7)).total_seconds() / 3600 * 0.95
            return dt.timedelta(hours=_log_uniform(rng, 0.5, limit))
        if sla is None:
            return dt.timedelta(minutes=_log_uniform(rng, 10, 24 * 60))
        if leaving_by == "withdraw":
            share = rng.uniform(0.1, 0.9)
        else:
            roll = rng.random()
            share = (
                rng.uniform(0.1, 0.75)
                if roll < 0.72
                else rng.uniform(0.75, 1.0)
                if roll < 0.9
                else rng.uniform(1.0, 1.8)
            )
        return max(sla * share, dt.timedelta(minutes=10))

    def last_event_time(self, spec: Spec) -> dt.datetime:
        rng, stage = self.rng, spec.stage
        if stage in FINAL_STAGES:  # closed at some point in the last five months, mostly recently
            return self.now - dt.timedelta(hours=1) - dt.timedelta(days=150 * rng.random() ** 1.8)
        sla = self.sla.get(stage)
        if sla is None or spec.sla_status is None:
            return self.now - dt.timedelta(minutes=_log_uniform(rng, 10, 12 * 24 * 60))
        return self.now - sla * rng.uniform(*ELAPSED_SHARE[spec.sla_status])

    # --- People and loans -------------------------------------------------------------------

    def loan(self) -> Loan:
        rng = self.rng
        vehicle = rng.choices(VEHICLES, cum_weights=VEHICLE_CUM_WEIGHTS)[0]
        product = self.products["standard"]
        green = self.products.get("green_nev")
        if vehicle.powertrain in NEW_ENERGY_POWERTRAINS and green is not None and rng.random() < 0.65:
            product = green
        price = Decimal(round(rng.uniform(vehicle.low, vehicle.high), -2)).quantize(Decimal("0.01"))
        minimum = product.min_down_payment_ratio_for(vehicle.powertrain)
        ratio = max(minimum, Decimal(str(rng.choice((0, 0, 0.2, 0.25, 0.3, 0.3, 0.35, 0.4, 0.5, 0.6)))))
        # Rounded up to whole thousands, which keeps it at or above the product minimum.
        down = (price * ratio / 1000).quantize(Decimal("1"), rounding=ROUND_CEILING) * 1000
        down = min(down, price - product.min_amount).quantize(Decimal("0.01"))
        terms = {term: weight for term, weight in TERM_WEIGHTS.items() if term in product.terms}
        term = _pick(rng, terms) if terms else rng.choice(product.terms)
        return Loan(vehicle, product, price, down, price - down, term)

    def id_number(self, district: str, birth: dt.date, *, poor_credit: bool, male: bool) -> str:
        """A GB 11643 number: the 17th digit is odd for a man. The sandbox bureau reads serials
        8xx/9xx as a poor record."""
        rng = self.rng
        while True:
            first = rng.choice("89") if poor_credit else str(rng.randint(0, 7))
            sex_digit = rng.choice("13579" if male else "02468")
            first17 = f"{district}{birth:%Y%m%d}{first}{rng.randint(0, 9)}{sex_digit}"
            number = first17 + id_check_character(first17)
            if not self.blacklist or keyed_hash(number) not in self.blacklist:
                return number

    def person(
        self, *, dealer_id: int, created: dt.datetime, poor_credit: bool, buyer: Buyer | None
    ) -> Person:
        """A walk-in applicant; a buyer with an account keeps the account's name."""
        rng = self.rng
        birth = (timezone.localtime(created) - dt.timedelta(days=rng.randint(22 * 366, 55 * 365 - 10))).date()
        district = (
            rng.choice(self.districts[dealer_id]) if rng.random() < 0.7 else rng.choice(ORIGIN_DISTRICTS)
        )
        last, first, male = (
            buyer_name(rng) if buyer is None else (buyer.last_name, buyer.first_name, buyer.male)
        )
        number = self.id_number(district, birth, poor_credit=poor_credit, male=male)
        roll = rng.random()
        city = CITY_OF_DISTRICT.get(self.districts[dealer_id][0][:2], "")
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
            monthly_income=Decimal(0),  # set to fit the loan and the wanted pre-check outcome
            monthly_debt=debt.quantize(Decimal("0.01")),
        )

    def customer_person(self, username: str) -> Person:
        """A demo customer is one person across all their files: same name, ID, phone and income."""
        if username not in self.customer_people:
            persona = next(p for p in PERSONAS if p.username == username)
            birth = dt.date(1988, 6, 15) if username == "demo_customer" else dt.date(1979, 11, 3)
            district = "110105" if username == "demo_customer" else "310115"
            serial = "262" if username == "demo_customer" else "371"
            first17 = f"{district}{birth:%Y%m%d}{serial}"
            self.customer_people[username] = Person(
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
        return self.customer_people[username]

    def precheck(self, person: Person, loan: Loan, at: dt.datetime) -> PrecheckResult:
        report = self.bureau.report(id_number=person.id_number, full_name=person.full_name)
        return evaluate(
            PrecheckInput(
                birth_date=person.birth_date,
                today=timezone.localdate(at),
                term_months=loan.term,
                vehicle_price=loan.price,
                down_payment=loan.down_payment,
                min_down_payment_ratio=loan.product.min_down_payment_ratio_for(loan.vehicle.powertrain),
                requested_amount=loan.requested,
                max_rate=loan.product.rate_range_for(loan.vehicle.powertrain)[1],
                monthly_income=person.monthly_income,
                stated_monthly_debt=person.monthly_debt,
                blacklisted=False,  # id_number() never picks a blacklisted number
                report=report,
            )
        )

    def fit_income(self, person: Person, loan: Loan, *, debt_to_income: float) -> None:
        """Set the income so that debts plus this loan's instalment take ``debt_to_income`` of it."""
        report = self.bureau.report(id_number=person.id_number, full_name=person.full_name)
        max_rate = loan.product.rate_range_for(loan.vehicle.powertrain)[1]
        outgoings = max(person.monthly_debt, report.monthly_debt) + annuity_payment(
            loan.requested, max_rate, loan.term
        )
        rounding = ROUND_CEILING if debt_to_income <= 0.55 else ROUND_FLOOR
        income = (outgoings / Decimal(str(debt_to_income)) / 100).quantize(
            Decimal("1"), rounding=rounding
        ) * 100
        person.monthly_income = income.quantize(Decimal("0.01"))

    def applicant_and_loan(
        self, spec: Spec, dealer_id: int, created: dt.datetime, check_at: dt.datetime | None, outcome: str
    ) -> tuple[Person, Loan, PrecheckResult | None]:
        """A person and a loan whose real pre-check gives ``outcome`` ("pass" or a reason code)."""
        for _attempt in range(100):
            loan = self.loan()
            if spec.owner:
                person = self.customer_person(spec.owner)
            else:
                person = self.person(
                    dealer_id=dealer_id,
                    created=created,
                    poor_credit=outcome == "credit_history",
                    buyer=spec.buyer,
                )
                share = (
                    self.rng.uniform(0.6, 0.9) if outcome == "dti_too_high" else self.rng.uniform(0.15, 0.5)
                )
                self.fit_income(person, loan, debt_to_income=share)
            if check_at is None:
                return person, loan, None
            result = self.precheck(person, loan, check_at)
            if (result.reasons[:1] or ["pass"])[0] == outcome:
                return person, loan, result
        raise RuntimeError(f"could not build an applicant whose pre-check gives {outcome!r}")

    # --- One application --------------------------------------------------------------------

    def reason(self, kind: str, preferred: Sequence[str]) -> str:
        choices = [code for code in preferred if code in self.reasons[kind]] or sorted(self.reasons[kind])
        if not choices:
            raise ImproperlyConfigured(f"The reason catalogue has no active reason of kind {kind!r}.")
        return self.rng.choice(choices)

    def delay_reason(self, spec: Spec) -> int | None:
        """The cause a manager or the SLA sweep recorded for a late stage the staff own, if any."""
        if spec.stage in CUSTOMER_STAGES or spec.sla_status not in (AT_RISK, BREACHED):
            return None
        if not self.reasons[ReasonKind.DELAY] or self.rng.random() > (
            0.75 if spec.sla_status == BREACHED else 0.25
        ):
            return None
        return self.reason_ids[self.reason(ReasonKind.DELAY, DELAY_REASONS.get(spec.stage, ("high_volume",)))]

    def new_reference(self) -> str:
        while (reference := _random_reference()) in self.references:
            pass
        self.references.add(reference)
        return reference

    def bundle(self, spec: Spec) -> Bundle:
        rng, now = self.rng, self.now
        path = self.path(spec.stage, spec.variant)
        stages: list[str] = []
        for name in path:
            stages.append(transition_target(name, stages[-1] if stages else ""))
        assert stages[-1] == spec.stage, (path, spec)
        times = [self.last_event_time(spec)]
        for i in range(len(path) - 2, -1, -1):
            times.append(times[-1] - self.dwell(stages[i], path[i + 1]))
        times.reverse()

        dealer = rng.choice(self.dealers)
        staff = self.dealer_staff[dealer.pk]
        owner = self.users[spec.owner] if spec.owner else None
        creator = owner or staff
        check_index = next((i for i, name in enumerate(path) if name in PRECHECK_TRANSITIONS), None)
        check_at = times[check_index] if check_index is not None else None
        outcome = "pass"
        if check_index is not None and path[check_index] == "fail_precheck":
            outcome = rng.choice(
                [c for c in ("credit_history", "dti_too_high") if c in self.reasons[ReasonKind.REJECTION]]
            )
        person, loan, precheck = self.applicant_and_loan(spec, dealer.pk, times[0], check_at, outcome)

        reference = spec.reference
        customer = owner or (SimpleNamespace(pk=spec.buyer.pk) if spec.buyer else None)
        if customer is None and CUSTOMER_ONLY.intersection(path):
            raise ValueError(f"{spec}: a customer-only step needs a customer account")
        reviewer = rng.choice(self.reviewers)
        amount, rate, term = self.offer(loan)
        large = loan.requested > SENIOR_APPROVAL_THRESHOLD
        approver = self.users["demo_senior" if large else "demo_approver"]

        documents, requests, missing_at_check = self.documents(
            path, times, uploader=creator, reviewer=reviewer, auto_resume=customer is not None
        )
        steps: list[Step] = []
        for i, name in enumerate(path):
            step = Step(name, stages[i - 1] if i else "", stages[i], times[i], None)
            if name in ("create", "submit"):
                step.actor = creator
                if name == "submit" and owner is None:
                    step.note = rng.choice(NOTES["submit_dealer"])
            elif name in PRECHECK_TRANSITIONS:
                step.data = {"reasons": precheck.reasons, "facts": precheck.facts, "bureau": "sandbox"}
                if name == "precheck_needs_documents":
                    step.data["missing_documents"] = missing_at_check
                if name == "fail_precheck":
                    step.reason = precheck.reasons[0]
            elif name == "expire":
                step.reason = self.reason(ReasonKind.EXPIRY, [EXPIRY_REASONS[stages[i - 1]]])
            elif name in ("request_documents", "recommend_approval", "reject_in_review"):
                step.actor = reviewer
                if name == "request_documents":
                    code, reason_code, _at, _by = requests[sum(1 for s in steps if s.name == name)]
                    step.reason, step.data = reason_code, {"documents": [code]}
                    step.note = REASON_NOTES.get(reason_code, "")
                elif name == "reject_in_review":
                    step.reason = self.reason(ReasonKind.REJECTION, REVIEW_REJECTIONS)
                    step.note = REASON_NOTES.get(step.reason, "")
                else:
                    step.note = rng.choice(NOTES[name])
            elif name == "resume_review":  # by the upload service for a customer, else by the reviewer
                step.actor = customer if customer is not None else reviewer
                step.note = rng.choice(NOTES[name]) if step.actor is reviewer else ""
            elif name in ("return_to_review", "approve", "decline"):
                step.actor = approver
                if name == "approve":
                    step.data = {
                        "amount": format(amount, "f"),
                        "rate": format(rate, "f"),
                        "term_months": term,
                    }
                    step.note = rng.choice(NOTES["approve_reduced" if amount < loan.requested else "approve"])
                elif name == "decline":
                    step.reason = self.reason(ReasonKind.REJECTION, APPROVAL_DECLINES)
                    step.note = REASON_NOTES.get(step.reason, "")
                else:
                    step.note = rng.choice(NOTES[name])
            elif name in CUSTOMER_ONLY:
                step.actor = customer
                step.note = rng.choice(NOTES[name]) if name in NOTES else ""
            elif name in ("sign_contract", "register_lien"):
                step.actor, step.note = self.users["demo_ops"], rng.choice(NOTES[name])
            elif name == "disburse":
                step.actor, step.note = self.users["demo_finance"], rng.choice(NOTES[name])
            assert (step.actor is None) == (name in SYSTEM_TRANSITIONS), step
            steps.append(step)
        steps = self.with_document_events(steps, documents)

        stage, last = spec.stage, times[-1]
        sla = self.sla.get(stage)
        passed = set(path)
        # The row LoanApplication(...) would insert. Its stage is written once, here, at insertion,
        # as the constructor would set it; nothing assigns a stage afterwards.
        application = {
            "reference": reference,
            "stage": str(stage),
            "customer_id": customer.pk if customer else None,
            "created_by_id": creator.pk,
            "dealer_id": dealer.pk,
            "product_id": loan.product.pk,
            "vehicle_make": loan.vehicle.make,
            "vehicle_model": loan.vehicle.model,
            "vehicle_price": loan.price,
            "powertrain": str(loan.vehicle.powertrain),
            "down_payment": loan.down_payment,
            "requested_amount": loan.requested,
            "term_months": loan.term,
            "approved_amount": amount if "approve" in passed else None,
            "approved_rate": rate if "approve" in passed else None,
            "approved_term_months": term if "approve" in passed else None,
            "reviewed_by_id": reviewer.pk if "recommend_approval" in passed else None,
            "approved_by_id": approver.pk if "approve" in passed else None,
            "disbursed_by_id": self.users["demo_finance"].pk if "disburse" in passed else None,
            "closing_reason": next(s.reason for s in reversed(steps) if s.name)
            if stage in FINAL_STAGES
            else "",
            "stage_entered_at": last,
            "stage_due_at": last + sla if sla is not None and stage not in FINAL_STAGES else None,
            "submitted_at": times[1] if "submit" in passed else None,
            "closed_at": last if stage in FINAL_STAGES else None,
            "created_at": times[0],
            "delay_reason_id": self.delay_reason(spec),
        }
        consented_at = None
        if len(path) > 1 or rng.random() < 0.5:  # a draft may not have reached the consent step yet
            consented_at = _between(rng, times[0], times[1] if len(times) > 1 else now)
        return Bundle(application, person, creator, steps, consented_at, documents, requests)

    @staticmethod
    def with_document_events(transitions: list[Step], documents: list[PlannedDocument]) -> list[Step]:
        """The transitions with each upload and verdict in time order, as ``services.documents``
        records them (at the stage of the moment). At the same instant a document event comes first:
        the upload that resumes review, the rejection that goes with a request."""
        events = []
        for d in documents:
            about = {"document": str(d.public_id), "type": d.code}
            events.append(
                Step("", "", "", d.uploaded_at, d.uploaded_by, data={"action": "uploaded", **about})
            )
            if d.reviewed_at is not None:
                verdict = "accepted" if d.status == DocumentStatus.ACCEPTED else "rejected"
                events.append(
                    Step(
                        "",
                        "",
                        "",
                        d.reviewed_at,
                        d.reviewed_by,
                        reason=d.rejection_reason,
                        data={"action": verdict, **about},
                    )
                )
        for event in events:
            event.kind = EventKind.DOCUMENT.value
        merged = sorted([*transitions, *events], key=lambda step: (step.at, step.kind != EventKind.DOCUMENT))
        stage = ""
        for step in merged:
            if step.kind == EventKind.DOCUMENT:
                step.from_stage = step.to_stage = stage
            else:
                stage = step.to_stage
        return merged

    def offer(self, loan: Loan) -> tuple[Decimal, Decimal, int]:
        """The amount, rate and term an approver would set: within the product and the request."""
        rng, product = self.rng, loan.product
        high_amount = min(product.max_amount, loan.requested)
        amount = high_amount
        if rng.random() < 0.2:
            reduced = (high_amount * Decimal(str(rng.uniform(0.8, 0.95))) / 1000).quantize(
                Decimal("1"), rounding=ROUND_FLOOR
            ) * 1000
            amount = max(product.min_amount, reduced).quantize(Decimal("0.01"))
        low, high = product.rate_range_for(loan.vehicle.powertrain)
        rate = (low + (high - low) * Decimal(str(rng.random()))).quantize(
            Decimal("0.0001"), rounding=ROUND_FLOOR
        )
        rate = min(max(rate, low), high)
        term = loan.term if rng.random() < 0.85 or len(product.terms) < 2 else rng.choice(product.terms)
        return amount, rate, term

    def documents(
        self, path: list[str], times: list[dt.datetime], *, uploader: Any, reviewer: Any, auto_resume: bool
    ) -> tuple[list[PlannedDocument], list[tuple[str, str, dt.datetime, Any]], list[str]]:
        """The documents on file and the reviewer's requests, as ``services.documents`` leaves them.

        Uploads happen only while review is open (``UPLOAD_STAGES``): the review documents before
        submission, or after a pre-check that found them missing; a requested type after the request.
        A resumed review has everything on file (``has_no_missing_documents``), and when the file has
        a customer account the last owed upload resumes it at that instant, in their name, as the
        upload service does. A request still open has nothing uploaded since. What the reviewer saw
        is accepted before the recommendation; a document a request replaces is rejected with it.
        Returns the documents, the requests (type, reason, time, reviewer) and what the pre-check
        found missing.
        """
        rng, now, n = self.rng, self.now, len(path)
        documents: list[PlannedDocument] = []
        requests: list[tuple[str, str, dt.datetime, Any]] = []
        missing_at_check: list[str] = []

        def upload(code: str, start: dt.datetime, end: dt.datetime, *, at: dt.datetime | None = None) -> None:
            public_id = uuid.uuid4()  # random even with a seed: a second run must not repeat it
            documents.append(PlannedDocument(code, at or _between(rng, start, end), uploader, public_id))

        def owed(codes: list[str], start: int) -> None:
            """Upload what a stay in awaiting documents owes; resumed (or not yet) at ``start + 1``."""
            if start + 1 < n and path[start + 1] == "resume_review":
                end = times[start + 1]
                for number, code in enumerate(rng.sample(codes, len(codes)), start=1):
                    upload(code, times[start], end, at=end if auto_resume and number == len(codes) else None)
            elif start + 1 == n and len(codes) > 1:  # still waiting: some of it may be in already
                for code in rng.sample(codes, rng.randint(0, len(codes) - 1)):
                    upload(code, times[start], now)

        review = self.review_documents
        if n == 1:
            for code in rng.sample(review, rng.randint(0, len(review))):
                upload(code, times[0], now)
            return documents, requests, missing_at_check
        if "precheck_needs_documents" in path:
            p = path.index("precheck_needs_documents")
            before = rng.sample(review, rng.randint(0, max(len(review) - 1, 0)))
            missing_at_check = sorted(set(review) - set(before))
            for code in before:
                upload(code, times[0], times[1])
            owed(missing_at_check, p)
        else:
            for code in review:
                upload(code, times[0], times[1])

        for q, name in enumerate(path):
            if name != "request_documents":
                continue
            reason_code = rng.choice(sorted(self.document_requests))
            code, replaces = self.document_requests[reason_code]
            if replaces:
                for document in reversed(documents):
                    if document.code == code and document.status != DocumentStatus.REJECTED:
                        document.status, document.rejection_reason = DocumentStatus.REJECTED, reason_code
                        document.reviewed_by, document.reviewed_at = reviewer, times[q]
                        break
            requests.append((code, reason_code, times[q], reviewer))
            owed([code], q)

        if "recommend_approval" in path:
            r = path.index("recommend_approval")
            # The reviewer checks the documents during the stay in review that ends in the recommendation.
            entered = times[max(i for i in range(r) if path[i] in ("pass_precheck", "resume_review"))]
            for document in documents:
                if document.status == DocumentStatus.PENDING and document.uploaded_at < times[r]:
                    document.status, document.reviewed_by = DocumentStatus.ACCEPTED, reviewer
                    document.reviewed_at = _between(rng, max(entered, document.uploaded_at), times[r])
        return documents, requests, missing_at_check

    # --- Writing ----------------------------------------------------------------------------

    def insert_buyers(self, specs: Sequence[Spec]) -> int:
        """Create the walk-in buyers' accounts (in the customer group) and note their ids."""
        buyers = {spec.buyer.username: spec.buyer for spec in specs if spec.buyer is not None}
        if not buyers:
            return 0
        user_model = get_user_model()
        rows = [
            {"username": b.username, "first_name": b.first_name, "last_name": b.last_name}
            | {"password": self.unusable_password}
            for b in buyers.values()
        ]
        for start in range(0, len(rows), 5000):
            _write(_prepare(user_model, rows[start : start + 5000]))
        names = list(buyers)
        for start in range(0, len(names), 5000):
            chunk = names[start : start + 5000]
            for username, pk in user_model.objects.filter(username__in=chunk).values_list("username", "pk"):
                buyers[username].pk = pk
        membership = user_model.groups.through
        group_id = self.customer_group.pk
        _write(_prepare(membership, [{"user_id": b.pk, "group_id": group_id} for b in buyers.values()]))
        return len(buyers)

    def prepare(self, specs: Sequence[Spec], rng: random.Random) -> PreparedBatch:
        """Plan a batch and turn it into database-ready rows: everything but the inserts.

        This is the CPU-heavy part (planning, hashing, encryption, value conversion), so it may run in
        a worker process; the application ids the rows point to are filled in by ``write_batch``.
        """
        self.rng = rng
        bundles = [self.bundle(spec) for spec in specs]
        events: list[dict[str, Any]] = []
        applicants, consents, requests, documents = [], [], [], []
        version = settings.PRIVACY_NOTICE_VERSION
        for index, bundle in enumerate(bundles):
            reference, head, person = bundle.application["reference"], GENESIS_HASH, bundle.person
            entered = ("", None, None)  # the current stage: (stage, entered at, due at)
            for sequence, step in enumerate(bundle.steps, start=1):
                # A transition records when the stage it enters is due, and the stay it ends (when
                # the stage it leaves was entered and due), as the service does.
                transition = step.kind == EventKind.TRANSITION
                limit = self.sla.get(step.to_stage) if transition else None
                due_at = step.at + limit if limit is not None and step.to_stage not in FINAL_STAGES else None
                stay = entered[1:] if transition and entered[0] == step.from_stage else (None, None)
                event = _EventRow(
                    application_id=index,
                    sequence=sequence,
                    kind=step.kind,
                    transition=step.name,
                    from_stage=step.from_stage,
                    to_stage=step.to_stage,
                    actor_id=step.actor.pk if step.actor is not None else None,
                    created_at=step.at,
                    note=step.note,
                    reason_code=step.reason,
                    data=step.data,
                    due_at=due_at,
                    stay_started_at=stay[0],
                    stay_due_at=stay[1],
                    prev_hash=head,
                )
                event.hash = head = event.compute_hash(reference)
                events.append(event.__dict__)
                if transition:
                    entered = (step.to_stage, step.at, due_at)
            bundle.application.update(event_count=len(bundle.steps), history_head=head)
            applicants.append(
                {
                    "application_id": index,
                    "full_name": person.full_name,
                    "id_number": person.id_number,
                    "id_number_hash": person.id_number_hash,
                    "birth_date": person.birth_date,
                    "phone": person.phone,
                    "phone_hash": keyed_hash(person.phone),
                    "employment": person.employment,
                    "employer": person.employer,
                    "monthly_income": person.monthly_income,
                    "income_band": income_band_of(person.monthly_income),
                    "monthly_debt": person.monthly_debt,
                }
            )
            if bundle.consented_at is not None:
                consents += [
                    {
                        "application_id": index,
                        "kind": kind,
                        "notice_version": version,
                        "granted_at": bundle.consented_at,
                        "granted_by_id": bundle.creator.pk,
                    }
                    for kind in Consent.Kind.values
                ]
            requests += [
                {
                    "application_id": index,
                    "document_type_id": self.doc_type_ids[code],
                    "reason_id": self.reason_ids[reason_code],
                    "requested_at": at,
                    "requested_by_id": by.pk,
                }
                for code, reason_code, at, by in bundle.requests
            ]
            documents += [
                {
                    "application_id": index,
                    "public_id": d.public_id,
                    "document_type_id": self.doc_type_ids[d.code],
                    "file": self.files[d.code][0],
                    "original_name": DOCUMENT_FILE_NAMES.get(d.code, f"{d.code}.png"),
                    "content_type": "image/png",
                    "size": self.files[d.code][1],
                    "status": d.status,
                    "rejection_reason_id": self.reason_ids[d.rejection_reason]
                    if d.rejection_reason
                    else None,
                    "uploaded_by_id": d.uploaded_by.pk,
                    "uploaded_at": d.uploaded_at,
                    "reviewed_by_id": d.reviewed_by.pk if d.reviewed_by is not None else None,
                    "reviewed_at": d.reviewed_at,
                }
                for d in bundle.documents
            ]
        return PreparedBatch(
            references=[b.application["reference"] for b in bundles],
            applications=_prepare(LoanApplication, [b.application for b in bundles]),
            children=[
                _prepare(model, rows)
                for model, rows in (
                    (Applicant, applicants),
                    (Consent, consents),
                    (StageEvent, events),
                    (DocumentRequest, requests),
                    (Document, documents),
                )
            ],
            stages=Counter(b.application["stage"] for b in bundles),
        )


def write_batch(batch: PreparedBatch, result: GenerationResult) -> None:
    """Insert a prepared batch: the applications, then their rows with the new ids filled in."""
    _write(batch.applications)
    ids = dict(LoanApplication.objects.filter(reference__in=batch.references).values_list("reference", "pk"))
    pks = [ids[reference] for reference in batch.references]
    for table in batch.children:
        table.link(pks)
        _write(table)
    counts = {table.model: len(table) for table in batch.children}
    result.applications += len(batch.references)
    result.events += counts[StageEvent._meta.label]
    result.documents += counts[Document._meta.label]
    result.by_stage.update(batch.stages)


@dataclass
class PreparedRows:
    """Rows of one table, converted to database values, in ``columns`` order.

    The rows are COPY text lines, made in the worker so that this process only streams them. A
    table of an application's rows has ``application_id`` first, holding the application's index
    in its batch until ``link`` puts in the real ids.
    """

    model: str  # app_label.ModelName: picklable, for rows made in a worker process
    columns: list[str]  # attnames
    lines: list[str]  # COPY text, without the leading application id while unlinked
    owners: list[int] | None = None  # the application index of each line

    def __len__(self) -> int:
        return len(self.lines)

    def link(self, pks: list[int]) -> None:
        self.lines = [
            f"{pks[owner]}\t{line}" for owner, line in zip(self.owners or (), self.lines, strict=True)
        ]


@dataclass
class PreparedBatch:
    references: list[str]
    applications: PreparedRows
    children: list[PreparedRows]  # their application_id holds the application's index in the batch
    stages: Counter


class _EventRow(SimpleNamespace):
    """A history row before insertion, hashed by ``StageEvent``'s own canonical form and hash.

    Why not a ``StageEvent`` instance: a million model constructions cost more than the rest of the
    event work together. The methods are the model's very functions, so the hash is byte for byte
    what ``services.event_record`` computes and ``verify_history`` checks.
    """

    canonical = StageEvent.canonical
    compute_hash = StageEvent.compute_hash


def _column_converter(field: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """The field's conversion to a database value; None when the value goes in as it is.

    Plain text, integer, boolean and key columns need no conversion (both drivers bind a choices
    enum, a ``str`` subclass, as its text); dates and times go through the backend's adapter; JSON
    is serialised as the field would; everything else (encrypted text, decimals, UUIDs, files)
    through the field's own ``get_db_prep_save``. Every result is a plain, picklable value.
    """
    kind = type(field)
    if kind in (
        models.CharField,
        models.TextField,
        models.SlugField,
        models.EmailField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.BigIntegerField,
        models.BooleanField,
        models.ForeignKey,
        models.OneToOneField,
        models.FileField,  # given as the stored name, which is the column's value
    ):
        return None
    if kind is models.DateTimeField:
        return connection.ops.adapt_datetimefield_value
    if kind is models.DateField:
        return connection.ops.adapt_datefield_value
    if kind is models.JSONField:
        # Text rather than the driver's JSON wrapper, so that rows made in a worker can be pickled;
        # COPY reads JSON columns from text.
        return partial(_json_text, field.encoder)
    return partial(_prep, field, connection)


def _json_text(encoder: Any, value: Any) -> str | None:
    return None if value is None else json.dumps(value, cls=encoder)


def _prep(field: models.Field, connection: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _default_prep(field: models.Field, convert: Callable[[Any], Any] | None) -> Any:
    value = field.get_default()
    return convert(value) if convert else value


def _prepare(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> PreparedRows:
    """Convert rows (``attname -> value``) to database values as the ORM would.

    A column the rows leave out gets the field's default (a callable one called per row), an
    ``auto_now`` column the current time. Every model written here has an automatic primary key,
    which the database assigns.
    """
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    given = rows[0].keys() if rows else ()
    plain, converted, constant, per_row = [], [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        convert = _column_converter(f, connection)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            constant.append((f, convert(now) if convert else now))
        elif f.attname not in given:
            if callable(f.default):
                per_row.append((f, partial(_default_prep, f, convert)))
            else:
                default = f.get_default()
                constant.append((f, convert(default) if convert else default))
        elif convert is None:
            plain.insert(0, f) if f.attname == "application_id" else plain.append(f)
        else:
            converted.append((f, convert))
    get_plain = itemgetter(*[f.attname for f in plain]) if plain else (lambda row: ())
    if len(plain) == 1:
        get_plain = (lambda getter: lambda row: (getter(row),))(get_plain)
    to_convert = [(f.attname, convert) for f, convert in converted]
    constants = tuple(value for _f, value in constant)
    makers = [make for _f, make in per_row]
    values = [
        (
            *get_plain(row),
            *[convert(row[name]) for name, convert in to_convert],
            *constants,
            *[m() for m in makers],
        )
        for row in rows
    ]
    fields = [*plain, *(f for f, _c in converted), *(f for f, _v in constant), *(f for f, _m in per_row)]
    columns = [f.attname for f in fields]
    if columns[0] == "application_id":
        lines = ["\t".join(map(_copy_text, row[1:])) + "\n" for row in values]
        return PreparedRows(model._meta.label, columns, lines=lines, owners=[row[0] for row in values])
    return PreparedRows(
        model._meta.label, columns, lines=["\t".join(map(_copy_text, row)) + "\n" for row in values]
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format (``\\N`` for NULL, backslash escapes in text)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # Most text has nothing to escape, and four searches cost a fraction of one translate.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # datetimes too: ISO 8601 with the offset, which PostgreSQL reads
        return value.isoformat()
    return str(value)  # int, Decimal, UUID


def _write(prepared: PreparedRows) -> None:
    """Insert prepared rows in one statement stream.

    Why not ``bulk_create``: for a million rows it spends minutes on per-object bookkeeping this
    generator does not need (related-object checks, every field's full preparation chain, SQL
    assembled per chunk and, with DEBUG on, every parameter quoted into the query log). One
    ``COPY``, as a round trip per row costs far more.
    """
    if not len(prepared):
        return
    model = django_apps.get_model(prepared.model)
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(model._meta.get_field(name).column) for name in prepared.columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        copy.write("".join(prepared.lines))


# --- Running it -----------------------------------------------------------------------------------

# The generator a forked worker process inherits (set just before the pool starts).
_WORKER_GENERATOR: _Generator | None = None


def _prepare_in_worker(job: tuple[list[Spec], str]) -> PreparedBatch:
    specs, seed = job
    assert _WORKER_GENERATOR is not None
    return _WORKER_GENERATOR.prepare(specs, random.Random(seed))


def _prepared_batches(
    generator: _Generator, jobs: list[tuple[list[Spec], str]], workers: int
) -> Iterator[PreparedBatch]:
    """Prepared batches in order; made by ``workers`` forked processes when there are several.

    Why processes: preparing is pure Python and takes most of the time, so on a multi-core machine
    workers prepare the next batches while this process inserts. They inherit the loaded
    configuration by ``fork`` and never touch the database connection. At most two batches per
    worker wait in memory.
    """
    global _WORKER_GENERATOR
    if workers <= 1 or len(jobs) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for specs, seed in jobs:
            yield generator.prepare(specs, random.Random(seed))
        return
    _WORKER_GENERATOR = generator
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            waiting = iter(jobs)
            pending = deque(
                pool.apply_async(_prepare_in_worker, (job,)) for job in islice(waiting, 2 * workers)
            )
            while pending:
                batch = pending.popleft().get()
                for job in islice(waiting, 1):
                    pending.append(pool.apply_async(_prepare_in_worker, (job,)))
                yield batch
    finally:
        _WORKER_GENERATOR = None


# The tables a generation writes to: their checks are what ``bulk_load`` sets aside.
def _written_models() -> list[type[models.Model]]:
    user_model = get_user_model()
    return [
        user_model,
        user_model.groups.through,
        LoanApplication,
        Applicant,
        Consent,
        StageEvent,
        DocumentRequest,
        Document,
    ]


@contextmanager
def _checks_set_aside(model_list: Sequence[type[models.Model]]) -> Iterator[None]:
    """Inside a transaction: drop the tables' foreign keys and plain (non-unique)
    indexes, and put them back, exactly as they were, when the block ends.

    Why: a foreign key checks every inserted row with a query of its own (deferred to the commit,
    where for a million applications some 60 million checks wait in memory), and every index is
    updated row by row. Put back afterwards, an index is built by one sort and a foreign key
    validated by one join: several times faster, as ``pg_restore`` knows. Unique indexes and
    primary keys stay, as the inserts look rows up by them. The definitions are PostgreSQL's own
    (``pg_get_indexdef``, ``pg_get_constraintdef``); as it all happens in the caller's transaction,
    a failure puts everything back by rolling back. The tables stay locked against other sessions
    until then, so this is for large seeds of a database nobody is using.
    """
    connection = connections[router.db_for_write(LoanApplication)]
    if not connection.in_atomic_block:
        yield
        return
    tables = [model._meta.db_table for model in model_list]
    # Checks this transaction still owes (rows written before) run now: PostgreSQL will not alter
    # a table with pending trigger events.
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)"
            " ORDER BY conrelid, conname",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY i.indrelid, i.indexrelid",
            [tables],
        )
        indexes = cursor.fetchall()
        # Names and definitions come from the catalogue, quoted by PostgreSQL itself.
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def demo_applications_generate(
    *,
    count: int,
    users: dict[str, Any],
    dealers: dict[str, Dealer],
    customer_files: bool = True,
    seed: int | None = None,
    now: dt.datetime | None = None,
    batch_size: int = 2000,
    workers: int = 1,
    bulk_load: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> GenerationResult:
    """Generate ``count`` applications with their applicants, consents, documents and histories.

    One transaction for the lot: an interrupted run leaves nothing behind, so the next start does
    not mistake half a demo for a finished one. ``customer_files`` adds the demo customers' own
    files (the first run); ``seed`` makes the data reproducible (the references stay random);
    ``workers`` > 1 prepares batches in that many processes; ``bulk_load`` (PostgreSQL) sets the
    written tables' foreign keys and plain indexes aside until the end (``_checks_set_aside``),
    for large seeds of a database nobody else is using.
    """
    seed = random.randrange(2**32) if seed is None else seed
    generator = _Generator(users=users, dealers=dealers, now=now or timezone.now(), rng=random.Random(seed))
    specs = generator.specs(count, customer_files=customer_files)
    jobs = [
        (specs[start : start + batch_size], f"{seed}:{start}") for start in range(0, len(specs), batch_size)
    ]
    result = GenerationResult(seed=seed)
    with transaction.atomic():
        with _checks_set_aside(_written_models()) if bulk_load else nullcontext():
            result.buyer_accounts = generator.insert_buyers(specs)
            for batch in _prepared_batches(generator, jobs, workers):
                write_batch(batch, result)
                if on_progress is not None:
                    on_progress(len(batch.references))
            rebuild_started = time.perf_counter()
        result.rebuild_seconds = time.perf_counter() - rebuild_started
    return result
