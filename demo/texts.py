"""What the demo's staff wrote: the reasons they prefer and the notes on their steps (in Chinese, as
the staff write them)."""

from __future__ import annotations

from applications.choices import Stage

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
