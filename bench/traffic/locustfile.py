"""``make load``'s users, for locust (``bench/traffic/run.py`` starts it headless). Only the load
imports this module (locust brings gevent, which patches the standard library).

Read from the environment: ``LOAD_PREPARED`` (the JSON ``bench/traffic/prepare.py`` wrote),
``LOAD_RECORD`` (the JSON-lines record written here), ``LOAD_HOSTS`` (the web processes' base URLs,
comma-separated, loopback only: each simulated user sticks to one, in turn, as a proxy's sticky
balancing would), ``LOAD_MAX_REQUESTS`` (a bound: the run stops when it is reached).

Who, and how many (locust's weights; the think times are each user's wait between actions):

| user | share | wait | what they do |
|---|---|---|---|
| customer | 70 % | 2–6 s | timeline, their files, inbox, home, a document's page; upload a document, ask a question, answer an offer, apply (the four steps, the review's documents, submit) |
| staff | 20 % | 2–6 s | the queue (mine, unassigned), open a file, claim it, take a transition through the real POST view (CSRF), the page it leads to |
| dealer | 7 % | 1–4 s | the API: list, status, history, create a walk-in file (sometimes sent twice with the same Idempotency-Key), upload the invoice |
| manager | 3 % | 5–15 s | the SLA report on a random range (1 day to 1 year) |

The record, one JSON object a line: every request (``kind`` "request": wall time ``t`` and
``mono`` at its start, ``name``, ``method``, ``status`` (0: no answer), ``ms``, ``error``), and every
state change a user asked for (``kind`` "transition": who, ``transition``, the file's ``reference``
and ``application_id``, ``from_stage`` and ``to_stage``, ``ok`` — the answer said it was done — and,
for staff, the unique ``note`` the event carries). ``bench/traffic/invariants.py`` checks each ``ok``
transition has its one event.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

PREPARED = json.loads(open(os.environ["LOAD_PREPARED"], encoding="utf-8").read())  # noqa: SIM115
HOSTS = [h.strip().rstrip("/") for h in os.environ.get("LOAD_HOSTS", "").split(",") if h.strip()]
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
for _host in HOSTS:
    if urlsplit(_host).hostname not in LOOPBACK:
        raise SystemExit(f"make load sends traffic to this machine only, not to {_host}")

PDF = b"%PDF-1.4\n% make load\n"
# The staff transitions and the stage each leads to (applications/models/application.py).
TARGETS = {
    "recommend_approval": "approval",
    "request_documents": "awaiting_documents",
    "resume_review": "under_review",
    "reject_in_review": "rejected",
    "approve": "offer_pending",
    "return_to_review": "under_review",
    "decline": "rejected",
    "sign_contract": "lien_registration",
    "register_lien": "disbursement",
    "disburse": "disbursed",
}
# How often a member of staff picks each transition the page offers (forward, mostly).
PREFERENCE = {
    "recommend_approval": 10,
    "approve": 10,
    "sign_contract": 10,
    "register_lien": 10,
    "disburse": 10,
    "resume_review": 6,
    "request_documents": 2,
    "return_to_review": 1,
    "reject_in_review": 1,
    "decline": 1,
}
CHANGE_LINK = re.compile(r'href="(/admin/applications/loanapplication/(\d+)/change/)[^"]*"')

_record = open(os.environ["LOAD_RECORD"], "a", encoding="utf-8", buffering=1)  # noqa: SIM115
_requests = itertools.count(1)
_hosts = itertools.cycle(HOSTS or ["http://127.0.0.1:8001"])


def record(line: dict) -> None:
    _record.write(json.dumps(line, ensure_ascii=False) + "\n")


@events.request.add_listener
def _on_request(request_type, name, response_time, response, exception, start_time=None, **_kw) -> None:
    status = getattr(response, "status_code", 0) or 0
    record(
        {
            "kind": "request",
            "t": start_time or time.time() - response_time / 1000,
            "mono": time.monotonic() - response_time / 1000,
            "name": name,
            "method": request_type,
            "status": status,
            "ms": round(response_time, 1),
            "error": f"{type(exception).__name__}: {exception}"[:200] if exception else "",
        }
    )
    if next(_requests) == MAX_REQUESTS and _environment:
        _environment[0].runner.quit()


_environment: list = []


@events.init.add_listener
def _on_init(environment, **_kw) -> None:
    _environment.append(environment)


# --- Forms --------------------------------------------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page: action, ``data-*`` attributes and the values a browser would send
    (hidden and text inputs as they are, the checked radio or box, a select's selected or first
    real option, textareas empty)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "attrs": a, "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a or name not in fields:
                    fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if "selected" in a:
                fields[self._select] = value
            elif value and self._first_option is None:
                self._first_option = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self.forms:
            self.forms[-1]["fields"].setdefault(self._select, self._first_option or "")
            self._select = None


def forms_of(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def success_shown(html: str) -> bool:
    """The admin's (and the site's) success message after a redirect."""
    return 'class="success"' in html or "alert-success" in html


# --- Users --------------------------------------------------------------------------------------


class PortalUser(HttpUser):
    abstract = True
    host = HOSTS[0] if HOSTS else "http://127.0.0.1:8001"
    people: list[dict] = []
    _turns = itertools.count()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._turns = itertools.count()  # each kind of user takes its people in turn

    def __init__(self, environment) -> None:
        super().__init__(environment)
        self.client.base_url = next(_hosts)
        self.person = self.people[next(self._turns) % len(self.people)] if self.people else {}
        for cookie, value in self.person.get("cookies", {}).items():
            self.client.cookies.set(cookie, value)
        self.csrf = self.person.get("cookies", {}).get(PREPARED.get("csrf_cookie", "csrftoken"), "")

    def post_form(self, url: str, data: dict, name: str, **options):
        headers = {"X-CSRFToken": self.csrf, "Referer": self.client.base_url + url}
        return self.client.post(url, data=data, headers=headers, name=name, allow_redirects=False, **options)

    def follow(self, response, name: str):
        location = response.headers.get("Location", "")
        if response.status_code in (301, 302, 303) and location:
            parts = urlsplit(location)
            return self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""), name=name)
        return None

    def transition(self, **line) -> None:
        record({"kind": "transition", "t": time.time(), "mono": time.monotonic(), **line})


class Customer(PortalUser):
    weight = 70
    wait_time = between(2, 6)
    people = PREPARED["customers"]

    def on_start(self) -> None:
        self.files = [dict(f) for f in self.person["files"]]

    def a_file(self, *stages: str) -> dict | None:
        files = [f for f in self.files if not stages or f["stage"] in stages]
        return random.choice(files) if files else None

    @task(25)
    def timeline(self) -> None:
        chosen = self.a_file()
        if chosen:
            self.client.get(f"/applications/{chosen['reference']}/", name="customer: timeline")

    @task(6)
    def my_files(self) -> None:
        self.client.get("/applications/", name="customer: my applications")

    @task(15)
    def inbox(self) -> None:
        self.client.get("/inbox/", name="customer: inbox")

    @task(5)
    def home(self) -> None:
        self.client.get("/", name="customer: home")

    @task(8)
    def documents_page(self) -> None:
        chosen = self.a_file("under_review", "awaiting_documents")
        if chosen:
            code = random.choice(PREPARED["documents"])
            self.client.get(
                f"/applications/{chosen['reference']}/documents/{code}/", name="customer: documents page"
            )

    @task(3)
    def upload(self) -> None:
        chosen = self.a_file("awaiting_documents", "under_review")
        if chosen:
            code = (
                "bank_statement"
                if chosen["stage"] == "awaiting_documents"
                else random.choice(PREPARED["documents"])
            )
            self.upload_document(chosen["reference"], code)

    def upload_document(self, reference: str, code: str):
        url = f"/applications/{reference}/documents/{code}/"
        return self.post_form(
            url, {}, "customer: upload", files={"file": (f"{code}.pdf", PDF, "application/pdf")}
        )

    @task(3)
    def ask(self) -> None:
        chosen = self.a_file("under_review", "awaiting_documents", "approval", "offer_pending")
        if chosen:
            url = f"/applications/{chosen['reference']}/questions/"
            self.post_form(url, {"body": "请问审核大概还需要多久？"}, "customer: ask a question")

    @task(2)
    def answer_offer(self) -> None:
        chosen = self.a_file("offer_pending")
        if not chosen:
            return
        url = f"/applications/{chosen['reference']}/offer/"
        self.client.get(url, name="customer: offer")
        answer = self.post_form(
            url,
            {"action": "accept", "repayment_method": "equal_instalment", "confirmed": "yes"},
            "customer: accept offer",
        )
        done = answer.status_code == 302 and answer.headers.get("Location", "").rstrip("/").endswith(
            chosen["reference"]
        )
        self.transition(
            role="customer",
            user=self.person["username"],
            transition="accept_offer",
            reference=chosen["reference"],
            application_id=chosen.get("id"),
            from_stage="offer_pending",
            to_stage="contract_signing",
            ok=done,
            status=answer.status_code,
        )
        chosen["stage"] = "contract_signing" if done else chosen["stage"]
        if not done:
            self.files.remove(chosen)  # answered already (by another user of the same customer)

    @task(2)
    def apply(self) -> None:
        """A new application from the first step to its submission."""
        self.client.get("/applications/new/", name="customer: apply (start)")
        first17 = f"110101{random.randint(1975, 1998)}0{random.randint(1, 9)}{random.randint(10, 28)}{random.randint(100, 999)}"
        personal = {
            "full_name": "载测试",
            "id_number": first17 + id_check_character(first17),
            "phone": f"137{random.randrange(10**8):08d}",
            "employment": "employed",
            "employer": "北京某科技有限公司",
            "monthly_income": "25000",
            "monthly_debt": "2000",
        }
        answer = self.post_form("/applications/new/", personal, "customer: apply (personal)")
        match = re.search(r"/applications/(\w+)/edit/vehicle/", answer.headers.get("Location", ""))
        if answer.status_code != 302 or not match:
            return
        reference = match.group(1)
        steps = (
            (
                "vehicle",
                {
                    "dealer": str(random.choice(PREPARED["dealer_ids"])),
                    "vehicle_make": "大众",
                    "vehicle_model": "帕萨特",
                    "vehicle_price": "200000",
                    "powertrain": "fuel",
                },
            ),
            (
                "loan",
                {
                    "product": str(PREPARED["standard_product"]),
                    "down_payment": "60000",
                    "requested_amount": "140000",
                    "term_months": "36",
                },
            ),
            ("consent", {"credit_check": "on", "privacy_notice": "on"}),
        )
        for step, data in steps:
            url = f"/applications/{reference}/edit/{step}/"
            self.client.get(url, name=f"customer: apply ({step}) page")
            if self.post_form(url, data, f"customer: apply ({step})").status_code != 302:
                return
        for code in PREPARED["documents"]:
            self.upload_document(reference, code)
        review = f"/applications/{reference}/review/"
        self.client.get(review, name="customer: apply (review) page")
        answer = self.post_form(review, {}, "customer: submit")
        done = answer.status_code == 302 and answer.headers.get("Location", "").rstrip("/").endswith(
            reference
        )
        self.transition(
            role="customer",
            user=self.person["username"],
            transition="submit",
            reference=reference,
            from_stage="draft",
            to_stage="submitted",
            ok=done,
            status=answer.status_code,
        )
        if done:
            self.files.append({"reference": reference, "stage": "submitted"})


class Staff(PortalUser):
    weight = 20
    wait_time = between(2, 6)
    people = PREPARED["staff"]
    queue = "/admin/applications/loanapplication/"

    @task(8)
    def my_queue(self) -> None:
        self.client.get(self.queue + "?queue=mine", name="staff: queue (mine)")

    @task(3)
    def unassigned(self) -> None:
        self.client.get(self.queue + "?queue=unassigned", name="staff: queue (unassigned)")

    @task(1)
    def back_office(self) -> None:
        self.client.get("/admin/", name="staff: back office home")

    @task(8)
    def work_a_file(self) -> None:
        """Open a file from the queue (mine, else unassigned: claimed first) and move it on."""
        mine = self.client.get(self.queue + "?queue=mine", name="staff: queue (mine)")
        links = CHANGE_LINK.findall(mine.text or "")
        claim = False
        if not links or random.random() < 0.2:
            unassigned = self.client.get(self.queue + "?queue=unassigned", name="staff: queue (unassigned)")
            found = CHANGE_LINK.findall(unassigned.text or "")
            if found:
                links, claim = found, True
        if not links:
            return
        url, application_id = random.choice(links[:25])
        page = self.client.get(url, name="staff: file")
        if page.status_code != 200:
            return
        forms = forms_of(page.text)
        if claim:
            claiming = [f for f in forms if f["action"].endswith("/claim/")]
            if claiming:
                answer = self.post_form(claiming[0]["action"], claiming[0]["fields"], "staff: claim")
                if answer.status_code != 302:
                    return
                page = self.client.get(url, name="staff: file")
                forms = forms_of(page.text)
        offered = [f for f in forms if f["attrs"].get("data-transition") in TARGETS]
        if not offered:
            return
        weights = [PREFERENCE[f["attrs"]["data-transition"]] for f in offered]
        chosen = random.choices(offered, weights=weights)[0]
        name = chosen["attrs"]["data-transition"]
        data = dict(chosen["fields"])
        note = f"make load {uuid.uuid4().hex}"
        data[f"{name}-note"] = note
        from_stage = data.get(f"{name}-seen_stage", "")
        answer = self.post_form(chosen["action"], data, f"staff: {name}")
        after = self.follow(answer, "staff: page after a transition")
        done = answer.status_code == 302 and after is not None and success_shown(after.text or "")
        self.transition(
            role=self.person["role"],
            user=self.person["username"],
            user_id=self.person["user_id"],
            transition=name,
            application_id=application_id,
            from_stage=from_stage,
            to_stage=TARGETS[name],
            note=note,
            ok=done,
            status=answer.status_code,
        )


class Dealer(PortalUser):
    weight = 7
    wait_time = between(1, 4)
    people = PREPARED["dealers"]

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {self.person['key']}"
        self.client.headers["Accept"] = "application/json"
        self.references: list[str] = []

    @task(5)
    def list_files(self) -> None:
        answer = self.client.get("/api/v1/applications/", name="api: list")
        if answer.status_code == 200:
            found = [row["reference"] for row in answer.json().get("results", [])]
            self.references = (self.references + found)[-200:]

    @task(5)
    def status(self) -> None:
        if self.references:
            reference = random.choice(self.references)
            self.client.get(f"/api/v1/applications/{reference}/", name="api: status")

    @task(2)
    def history(self) -> None:
        if self.references:
            reference = random.choice(self.references)
            self.client.get(f"/api/v1/applications/{reference}/history/", name="api: history")

    @task(2)
    def create(self) -> None:
        key = str(uuid.uuid4())
        body = {
            "buyer_name": "李娜",
            "buyer_phone": f"139{random.randrange(10**8):08d}",
            "vehicle_make": "大众",
            "vehicle_model": "帕萨特",
            "vehicle_price": "200000.00",
            "powertrain": "fuel",
            "product": "standard",
            "down_payment": "60000.00",
            "requested_amount": "140000.00",
            "term_months": 36,
        }
        tries = 2 if random.random() < 0.2 else 1  # a retry, as after a lost answer
        for attempt in range(tries):
            answer = self.client.post(
                "/api/v1/applications/",
                json=body,
                headers={"Idempotency-Key": key},
                name="api: create" if attempt == 0 else "api: create (same Idempotency-Key)",
            )
            if answer.status_code != 201:
                return
            reference = answer.json()["reference"]
            self.references.append(reference)
            self.transition(
                role="dealer",
                user=f"dealer {self.person['dealer_id']}",
                transition="create",
                reference=reference,
                from_stage="",
                to_stage="draft",
                ok=True,
                status=answer.status_code,
                idempotency_key=key,
                replayed=answer.headers.get("Idempotent-Replayed") == "true",
            )

    @task(1)
    def upload(self) -> None:
        if self.references:
            reference = random.choice(self.references)
            self.client.post(
                f"/api/v1/applications/{reference}/documents/",
                data={"document_type": "vehicle_invoice"},
                files={"file": ("invoice.pdf", PDF, "application/pdf")},
                headers={"Idempotency-Key": str(uuid.uuid4())},
                name="api: upload",
            )


class Manager(PortalUser):
    weight = 3
    wait_time = between(5, 15)
    people = PREPARED["managers"]

    @task
    def report(self) -> None:
        import datetime as dt

        days = random.choice((1, 7, 30, 90, 365))
        end = dt.date.today() - dt.timedelta(days=random.randint(0, 30))
        start = end - dt.timedelta(days=days - 1)
        self.client.get(
            f"/reports/sla/?start={start.isoformat()}&end={end.isoformat()}",
            name=f"manager: report ({days} d)",
        )


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_character(first17: str) -> str:
    """GB 11643-1999's check character (as ``common.pii``, which would bring Django in here)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]
