"""What a demo applicant finances: the car, the product, the down payment, the term, and the
offer an approver would make; incomes fitted so that the real pre-check gives the wanted outcome."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import accumulate

from django.utils import timezone

from applications.bureau import SandboxBureau
from applications.choices import NEW_ENERGY_POWERTRAINS, Powertrain
from applications.models import LoanProduct
from applications.money import annuity_payment
from applications.precheck import PrecheckInput, PrecheckResult, evaluate

from .chance import pick
from .people import Person


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


@dataclass
class Loan:
    vehicle: Vehicle
    product: LoanProduct
    price: Decimal
    down_payment: Decimal
    requested: Decimal
    term: int


def loan_draw(rng: random.Random, products: dict[str, LoanProduct]) -> Loan:
    """A car from the weighted list and a loan on it within the product's rules: the green product
    for most new-energy cars when it is on offer, else the standard one."""
    vehicle = rng.choices(VEHICLES, cum_weights=VEHICLE_CUM_WEIGHTS)[0]
    product = products["standard"]
    green = products.get("green_nev")
    if vehicle.powertrain in NEW_ENERGY_POWERTRAINS and green is not None and rng.random() < 0.65:
        product = green
    price = Decimal(round(rng.uniform(vehicle.low, vehicle.high), -2)).quantize(Decimal("0.01"))
    minimum = product.min_down_payment_ratio_for(vehicle.powertrain)
    ratio = max(minimum, Decimal(str(rng.choice((0, 0, 0.2, 0.25, 0.3, 0.3, 0.35, 0.4, 0.5, 0.6)))))
    # Rounded up to whole thousands, which keeps it at or above the product minimum.
    down = (price * ratio / 1000).quantize(Decimal("1"), rounding=ROUND_CEILING) * 1000
    down = min(down, price - product.min_amount).quantize(Decimal("0.01"))
    terms = {term: weight for term, weight in TERM_WEIGHTS.items() if term in product.terms}
    term = pick(rng, terms) if terms else rng.choice(product.terms)
    return Loan(vehicle, product, price, down, price - down, term)


def offer_draw(rng: random.Random, loan: Loan) -> tuple[Decimal, Decimal, int]:
    """The amount, rate and term an approver would set: within the product and the request."""
    product = loan.product
    high_amount = min(product.max_amount, loan.requested)
    amount = high_amount
    if rng.random() < 0.2:
        reduced = (high_amount * Decimal(str(rng.uniform(0.8, 0.95))) / 1000).quantize(
            Decimal("1"), rounding=ROUND_FLOOR
        ) * 1000
        amount = max(product.min_amount, reduced).quantize(Decimal("0.01"))
    low, high = product.rate_range_for(loan.vehicle.powertrain)
    rate = (low + (high - low) * Decimal(str(rng.random()))).quantize(Decimal("0.0001"), rounding=ROUND_FLOOR)
    rate = min(max(rate, low), high)
    term = loan.term if rng.random() < 0.85 or len(product.terms) < 2 else rng.choice(product.terms)
    return amount, rate, term


def fit_income(bureau: SandboxBureau, person: Person, loan: Loan, *, debt_to_income: float) -> None:
    """Set the income so that debts plus this loan's instalment take ``debt_to_income`` of it."""
    report = bureau.report(id_number=person.id_number, full_name=person.full_name)
    max_rate = loan.product.rate_range_for(loan.vehicle.powertrain)[1]
    outgoings = max(person.monthly_debt, report.monthly_debt) + annuity_payment(
        loan.requested, max_rate, loan.term
    )
    rounding = ROUND_CEILING if debt_to_income <= 0.55 else ROUND_FLOOR
    income = (outgoings / Decimal(str(debt_to_income)) / 100).quantize(Decimal("1"), rounding=rounding) * 100
    person.monthly_income = income.quantize(Decimal("0.01"))


def precheck_outcome(bureau: SandboxBureau, person: Person, loan: Loan, at: dt.datetime) -> PrecheckResult:
    """What the real pre-check (``precheck.evaluate`` on the sandbox bureau) says at ``at``."""
    report = bureau.report(id_number=person.id_number, full_name=person.full_name)
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
            blacklisted=False,  # people.id_number_draw never picks a blacklisted number
            report=report,
        )
    )
