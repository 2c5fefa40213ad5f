"""The default partner steps of each stage (``models.PartnerStepRequirement``), editable by managers
in the admin: a stage's required steps must be done before it moves on. Limits are working hours
on the working calendar (a working day: 9 hours, 09:00–18:00)."""

from __future__ import annotations

from django.apps.registry import Apps

# stage, kind, partner (staff see it; customers never do), limit in working hours, required
PARTNER_STEPS = [
    # The full report for the reviewer; the pre-check already read the bureau's summary, so the
    # review does not wait for it.
    ("under_review", "credit_report", "中国人民银行征信中心 Credit Reference Center", 4, False),
    ("contract_signing", "e_signature", "电子签约平台 E-signature service", 4, True),
    ("contract_signing", "insurance_policy", "合作保险公司 Partner insurer", 9, True),
    ("lien_registration", "gps_installation", "GPS 安装服务商 GPS installer", 9, False),
    ("lien_registration", "lien_registration", "车辆管理所 Vehicle registry", 18, True),
    ("disbursement", "funds_transfer", "放款银行 Paying bank", 4, True),
]


def partner_steps_load(apps: Apps) -> None:
    """Create or update the default requirements (idempotent), through ``apps``: the data
    migration's historical registry, or the live one."""
    PartnerStepRequirement = apps.get_model("applications", "PartnerStepRequirement")
    for stage, kind, partner, hours, required in PARTNER_STEPS:
        PartnerStepRequirement.objects.update_or_create(
            stage=stage,
            kind=kind,
            defaults={"partner_name": partner, "limit_hours": hours, "required": required, "is_active": True},
        )
