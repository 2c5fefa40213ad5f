"""PRODUCT.md's default configuration: stages with time limits and customer words, document types,
the reason catalogue and two loan products (one for new-energy vehicles). All of it is editable
in admin; migration 0002 loaded it, and the test suite loads it again after a flush."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.apps.registry import Apps

DOCUMENT_TYPES = [
    (
        "id_card_front",
        "身份证人像面",
        "ID card, photo side",
        "请在光线充足处拍摄，四角完整、文字清晰。",
        "Photograph it in good light with all four corners visible.",
    ),
    (
        "id_card_back",
        "身份证国徽面",
        "ID card, emblem side",
        "请在光线充足处拍摄，确保有效期清晰可见。",
        "Photograph it in good light so the validity dates are readable.",
    ),
    (
        "driving_licence",
        "驾驶证",
        "Driving licence",
        "主页和副页均需清晰可见。",
        "Both the main page and the supplementary page must be readable.",
    ),
    (
        "income_proof",
        "收入证明",
        "Proof of income",
        "近6个月银行流水或单位开具的收入证明（加盖公章）。",
        "Your last six months of bank statements, or an income certificate stamped by your employer.",
    ),
    (
        "bank_statement",
        "银行流水",
        "Bank statement",
        "近6个月工资卡流水，需显示户名和账号。",
        "Six months of statements of your salary account showing name and number.",
    ),
    (
        "vehicle_invoice",
        "购车发票",
        "Vehicle purchase invoice",
        "经销商开具的机动车销售统一发票。",
        "The unified motor-vehicle sales invoice issued by the dealer.",
    ),
    (
        "vehicle_certificate",
        "车辆合格证",
        "Vehicle certificate of conformity",
        "随车提供的机动车整车出厂合格证，由经销商上传。",
        "The manufacturer's certificate of conformity that comes with the vehicle, uploaded by the dealer.",
    ),
]

# stage, SLA, owner role, title zh/en, what happens now zh/en, what you can do zh/en, documents
STAGES = [
    (
        "draft",
        None,
        "",
        "草稿",
        "Draft",
        "您的申请尚未提交。补全资料并提交后，我们会立即开始处理。",
        "Your application has not been sent yet. Complete and submit it and we start at once.",
        "继续填写并提交申请。",
        "Finish the form and submit it.",
        [],
    ),
    (
        "submitted",
        timedelta(minutes=10),
        "",
        "已提交",
        "Submitted",
        "我们已收到您的申请，系统将在几分钟内开始自动预审。",
        "We have your application. The automatic pre-check starts within minutes.",
        "",
        "",
        [],
    ),
    (
        "credit_check",
        timedelta(minutes=10),
        "",
        "自动预审",
        "Automatic pre-check",
        "系统正在核对您的年龄、收入负债比和首付比例，并查询您的征信报告。通常几分钟内完成。",
        "We are checking your age, debt-to-income ratio and down payment, and reading your credit report. "
        "This usually takes a few minutes.",
        "",
        "",
        [],
    ),
    (
        "under_review",
        timedelta(hours=24),
        "reviewer",
        "人工审核",
        "Credit review",
        "信审专员正在审核您的征信报告、收入证明和负债情况。",
        "A credit reviewer is examining your credit report, proof of income and debts.",
        "请保持电话畅通，我们可能会致电核实信息。",
        "Keep your phone at hand: we may call to confirm details.",
        ["id_card_front", "id_card_back", "driving_licence", "income_proof"],
    ),
    (
        "awaiting_documents",
        timedelta(days=14),
        "customer",
        "等待补充资料",
        "Waiting for your documents",
        "审核需要您补充一些资料，收到后会立即继续。",
        "The review needs some documents from you and continues as soon as they arrive.",
        "请按下方清单上传资料。",
        "Upload the documents in the list below.",
        [],
    ),
    (
        "approval",
        timedelta(hours=8),
        "approver",
        "额度审批",
        "Approval",
        "审批专员正在确定您的贷款额度、利率和期限。",
        "An approver is setting your loan amount, rate and term.",
        "",
        "",
        [],
    ),
    (
        "offer_pending",
        timedelta(days=7),
        "customer",
        "待确认方案",
        "Your offer is ready",
        "您的贷款方案已生成，请在有效期内确认。",
        "Your loan offer is ready. Please accept or decline it before it expires.",
        "查看方案和还款计划，然后接受或拒绝。",
        "Read the offer and the repayment schedule, then accept or decline it.",
        [],
    ),
    (
        "contract_signing",
        timedelta(hours=24),
        "operations",
        "合同签署",
        "Contract signing",
        "我们正在准备贷款合同并安排签署。",
        "We are preparing your loan contract and arranging its signature.",
        "请留意签署通知，按提示完成电子签名。",
        "Watch for the signing notice and sign electronically as it explains.",
        [],
    ),
    (
        "lien_registration",
        timedelta(hours=72),
        "operations",
        "抵押登记",
        "Lien registration",
        "我们正在车辆管理部门办理车辆抵押登记。",
        "We are registering the lien on your vehicle with the vehicle registration office.",
        "",
        "",
        ["vehicle_invoice"],
    ),
    (
        "disbursement",
        timedelta(hours=8),
        "finance",
        "放款",
        "Disbursement",
        "财务正在将贷款资金划入经销商账户。",
        "Finance is transferring the loan to the dealer.",
        "",
        "",
        [],
    ),
    (
        "disbursed",
        None,
        "",
        "已放款",
        "Disbursed",
        "贷款已发放至经销商，请按还款计划按期还款。",
        "The loan has been paid to the dealer. Repayments follow your schedule.",
        "",
        "",
        [],
    ),
    (
        "rejected",
        None,
        "",
        "未通过",
        "Not approved",
        "很抱歉，您的申请未获批准。",
        "We are sorry: your application was not approved.",
        "",
        "",
        [],
    ),
    (
        "withdrawn",
        None,
        "",
        "已撤回",
        "Withdrawn",
        "申请已撤回，不会再被处理。",
        "The application was withdrawn and will not be processed further.",
        "",
        "",
        [],
    ),
    (
        "expired",
        None,
        "",
        "已失效",
        "Expired",
        "申请因超过期限未完成而失效。",
        "The application expired because a deadline passed.",
        "您可以随时重新申请。",
        "You are welcome to apply again.",
        [],
    ),
]

# code, kind, customer text zh/en, remedy zh/en
REASONS = [
    (
        "high_volume",
        "delay",
        "近期申请量较大，审核排队时间较长",
        "We are handling more applications than usual",
        "我们已增派人手，会尽快处理，您无需任何操作。",
        "We have added staff and will get to it soon; you need do nothing.",
    ),
    (
        "bureau_unavailable",
        "delay",
        "征信系统暂时无法访问",
        "The credit bureau is temporarily unavailable",
        "系统恢复后会自动继续，您无需任何操作。",
        "We continue automatically when it is back; you need do nothing.",
    ),
    (
        "third_party_wait",
        "delay",
        "等待车辆管理部门办理",
        "Waiting for the vehicle registration office",
        "办理完成后我们会立即通知您。",
        "We tell you as soon as they have finished.",
    ),
    (
        "additional_verification",
        "delay",
        "需要进一步核实信息",
        "Some details need further checking",
        "我们可能会致电核实，请保持电话畅通。",
        "We may call you to confirm details: please keep your phone at hand.",
    ),
    # The causes the portal records itself (``applications.services.delays``): the customer's
    # documents outstanding, and a staff stage overdue outside working hours. (The reviewer backlog
    # is ``high_volume``, the credit bureau's wait ``bureau_unavailable``.)
    (
        "awaiting_documents",
        "delay",
        "我们正在等待您补充资料",
        "We are waiting for documents from you",
        "请上传本页列出的资料，资料齐全后我们会立即继续审核。",
        "Upload the documents listed on this page; we continue as soon as they are in.",
    ),
    (
        "outside_working_hours",
        "delay",
        "当前为非工作时间或法定节假日",
        "It is outside our working hours or a public holiday",
        "我们会在下一个工作日继续处理，您无需任何操作。",
        "We continue on the next working day; you need do nothing.",
    ),
    # A partner's step failed (``services.partner_steps``) and staff gave no more precise cause.
    (
        "partner_step_failed",
        "delay",
        "合作机构的办理环节需要重新进行",
        "A partner's step has to be done again",
        "我们已请合作机构重新办理，完成后会立即通知您，您无需任何操作。",
        "We have asked them to do it again and tell you as soon as it is done; you need do nothing.",
    ),
    (
        "age_out_of_range",
        "rejection",
        "年龄不符合贷款要求",
        "Age outside the range we can lend to",
        "贷款到期时借款人年龄需在18至65周岁之间。",
        "The borrower must be 18 to 65 years old when the loan ends.",
    ),
    (
        "dti_too_high",
        "rejection",
        "月负债与收入比例过高",
        "Monthly debts are too high for the income",
        "可以提高首付、延长期限或还清部分债务后重新申请。",
        "You may apply again with a larger down payment, a longer term or fewer debts.",
    ),
    (
        "down_payment_too_low",
        "rejection",
        "首付比例低于产品要求",
        "The down payment is below the product minimum",
        "提高首付比例后可重新申请。",
        "You may apply again with a larger down payment.",
    ),
    (
        "risk_check_failed",
        "rejection",
        "未通过风险核查",
        "The application did not pass our risk checks",
        "如有疑问请致电客服。",
        "Please call customer service if you have questions.",
    ),
    (
        "credit_history",
        "rejection",
        "征信记录不符合要求",
        "The credit history does not meet our requirements",
        "您可以向中国人民银行征信中心查询个人征信报告。",
        "You can obtain your credit report from the PBOC Credit Reference Center.",
    ),
    (
        "income_unverified",
        "rejection",
        "收入无法核实",
        "The income could not be verified",
        "补齐可核实的收入证明后可重新申请。",
        "You may apply again with income documents we can verify.",
    ),
    (
        "photo_unreadable",
        "document",
        "照片不清晰",
        "The photo is unreadable",
        "请在光线充足处重新拍摄，确保四角完整、文字清晰。",
        "Please retake it in daylight with all four corners and the text clearly visible.",
    ),
    (
        "document_expired",
        "document",
        "证件已过期",
        "The document has expired",
        "请上传有效期内的证件。",
        "Please upload a document that is still valid.",
    ),
    (
        "wrong_document",
        "document",
        "上传的资料类型不符",
        "This is not the document we asked for",
        "请按清单上传对应的资料。",
        "Please upload the document named in the list.",
    ),
    (
        "information_mismatch",
        "document",
        "资料信息与申请不一致",
        "The document does not match the application",
        "请核对姓名和证件号码后重新上传。",
        "Check the name and ID number and upload it again.",
    ),
    (
        "more_income_proof",
        "document",
        "需要补充收入证明",
        "We need more proof of income",
        "请上传近6个月的银行流水。",
        "Please upload your last six months of bank statements.",
    ),
    (
        "documents_not_supplied",
        "expiry",
        "未在期限内补充资料",
        "The documents were not supplied in time",
        "您可以随时重新申请。",
        "You are welcome to apply again.",
    ),
    (
        "offer_not_accepted",
        "expiry",
        "未在有效期内确认方案",
        "The offer was not accepted in time",
        "您可以随时重新申请。",
        "You are welcome to apply again.",
    ),
    (
        "draft_not_submitted",
        "expiry",
        "草稿长期未提交",
        "The application was not submitted in time",
        "您可以随时重新申请。",
        "You are welcome to apply again.",
    ),
]

PRODUCTS = [
    {
        "code": "standard",
        "name_zh_hans": "标准车贷",
        "name_en": "Standard car loan",
        "min_rate": Decimal("0.0450"),
        "max_rate": Decimal("0.0899"),
        "terms": [12, 24, 36, 48, 60],
        "min_amount": Decimal("20000.00"),
        "max_amount": Decimal("1000000.00"),
        "min_down_payment_ratio": Decimal("0.200"),
        "new_energy_min_down_payment_ratio": Decimal("0.150"),
        "new_energy_rate_discount": Decimal("0.0050"),
        "new_energy_only": False,
    },
    {
        "code": "green_nev",
        "name_zh_hans": "新能源绿色车贷",
        "name_en": "Green new-energy loan",
        "min_rate": Decimal("0.0299"),
        "max_rate": Decimal("0.0599"),
        "terms": [12, 24, 36, 48, 60],
        "min_amount": Decimal("20000.00"),
        "max_amount": Decimal("800000.00"),
        "min_down_payment_ratio": Decimal("0.150"),
        "new_energy_min_down_payment_ratio": Decimal("0.150"),
        "new_energy_rate_discount": Decimal("0"),
        "new_energy_only": True,
    },
]


def configuration_load(apps: Apps) -> None:
    """Create or update every default row (idempotent), through ``apps``: migration 0002's
    historical registry, or the live one."""
    DocumentType = apps.get_model("applications", "DocumentType")
    StageDefinition = apps.get_model("applications", "StageDefinition")
    Reason = apps.get_model("applications", "Reason")
    LoanProduct = apps.get_model("applications", "LoanProduct")
    types = {}
    for code, name_zh, name_en, help_zh, help_en in DOCUMENT_TYPES:
        types[code], _ = DocumentType.objects.update_or_create(
            code=code,
            defaults={
                "name_zh_hans": name_zh,
                "name_en": name_en,
                "help_zh_hans": help_zh,
                "help_en": help_en,
            },
        )
    for stage, sla, owner, t_zh, t_en, e_zh, e_en, a_zh, a_en, docs in STAGES:
        definition, _ = StageDefinition.objects.update_or_create(
            stage=stage,
            defaults={
                "sla": sla,
                "owner_role": owner,
                "title_zh_hans": t_zh,
                "title_en": t_en,
                "explanation_zh_hans": e_zh,
                "explanation_en": e_en,
                "customer_action_zh_hans": a_zh,
                "customer_action_en": a_en,
            },
        )
        definition.required_document_types.set([types[code] for code in docs])
    for code, kind, t_zh, t_en, r_zh, r_en in REASONS:
        Reason.objects.update_or_create(
            code=code,
            defaults={
                "kind": kind,
                "text_zh_hans": t_zh,
                "text_en": t_en,
                "remedy_zh_hans": r_zh,
                "remedy_en": r_en,
            },
        )
    for product in PRODUCTS:
        LoanProduct.objects.update_or_create(code=product["code"], defaults=product)


def reasons_add_missing(apps: Apps, codes: tuple[str, ...]) -> None:
    """Create the catalogue reasons with these codes that an existing database lacks, as
    ``REASONS`` words them; a reason already there (perhaps edited in admin) is left as it is."""
    Reason = apps.get_model("applications", "Reason")
    for code, kind, t_zh, t_en, r_zh, r_en in REASONS:
        if code in codes:
            Reason.objects.get_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "text_zh_hans": t_zh,
                    "text_en": t_en,
                    "remedy_zh_hans": r_zh,
                    "remedy_en": r_en,
                },
            )
