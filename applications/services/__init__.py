"""Writes to the domain core: the only code that changes an application's stage or history.

Split by subdomain; import from here (``from applications import services``):
- ``lifecycle``: the one transition path (lock, re-check, permission, conditions, event, hooks) and a
  named service per transition;
- ``drafts``: creating an application and filling in its details before submission;
- ``documents``: the customer's uploads and the staff's verdict on each;
- ``precheck``: the automatic pre-check;
- ``delays``: the cause of a delay, set by staff or by the portal (``delay_cause_set``);
- ``sla``: the SLA clock's passes (``sla_advance``: the new states, returned for others to act on);
- ``questions``: the customer's questions, staff answers and internal notes, the first-response clock;
- ``expiry``: the expiry pass (``applications_expire_due``: files whose time is up, closed as expired);
- ``partner_steps``: third parties' steps within a stage (requested on entry, reported, their clock);
- ``dealer``: a dealer's walk-in buyer (``walk_in_start``, the buyer's claim by link and code) and the
  documents a dealership holds;
- ``privacy``: a customer's privacy rights (a correction request and its answer, closing the account);
- ``retention``: the retention pass (``retention_apply``: closed files anonymised after the retention
  period, applications never submitted deleted).
"""

from .dealer import dealer_document_upload, walk_in_claim, walk_in_link_send, walk_in_start
from .delays import delay_cause_set, may_set_delay_cause
from .documents import document_accept, document_reject, document_upload
from .drafts import (
    applicant_set,
    application_create_draft,
    consent_record,
    draft_set_loan,
    draft_set_vehicle,
)
from .expiry import ExpiryPass, applications_expire_due
from .lifecycle import (
    NotAssignedToYou,
    ReasonRequired,
    StaleApplication,
    TransitionError,
    TransitionRefused,
    _transition,
    application_event_add,
    application_expire,
    application_submit,
    application_withdraw,
    approval_approve,
    approval_decline,
    approval_return,
    available_transitions,
    contract_mark_signed,
    disbursement_release,
    event_record,
    lien_mark_registered,
    offer_accept,
    offer_decline,
    precheck_pass,
    precheck_reject,
    precheck_request_documents,
    precheck_start,
    review_recommend,
    review_reject,
    review_request_documents,
    review_resume,
    stage_due_at,
)
from .partner_steps import (
    PartnerStepSlaChange,
    may_record_partner_step,
    partner_step_report,
    partner_steps_sla_advance,
)
from .precheck import precheck_requeue_claim, precheck_run, precheck_stuck_ids
from .privacy import (
    AccountCloseRefused,
    account_close,
    correction_due_at,
    correction_request_answer,
    correction_request_create,
)
from .questions import (
    QuestionSlaChange,
    question_answer,
    question_ask,
    question_note_add,
    questions_sla_advance,
)
from .retention import RetentionPass, application_anonymise, application_delete, retention_apply
from .sla import SlaChange, SlaChanges, sla_advance

__all__ = [
    "AccountCloseRefused",
    "ExpiryPass",
    "NotAssignedToYou",
    "PartnerStepSlaChange",
    "QuestionSlaChange",
    "ReasonRequired",
    "RetentionPass",
    "SlaChange",
    "SlaChanges",
    "StaleApplication",
    "TransitionError",
    "TransitionRefused",
    "_transition",
    "account_close",
    "applicant_set",
    "application_anonymise",
    "application_create_draft",
    "application_delete",
    "application_event_add",
    "application_expire",
    "application_submit",
    "application_withdraw",
    "applications_expire_due",
    "approval_approve",
    "approval_decline",
    "approval_return",
    "available_transitions",
    "consent_record",
    "contract_mark_signed",
    "correction_due_at",
    "correction_request_answer",
    "correction_request_create",
    "dealer_document_upload",
    "delay_cause_set",
    "disbursement_release",
    "document_accept",
    "document_reject",
    "document_upload",
    "draft_set_loan",
    "draft_set_vehicle",
    "event_record",
    "lien_mark_registered",
    "may_record_partner_step",
    "may_set_delay_cause",
    "offer_accept",
    "offer_decline",
    "partner_step_report",
    "partner_steps_sla_advance",
    "precheck_pass",
    "precheck_reject",
    "precheck_request_documents",
    "precheck_requeue_claim",
    "precheck_run",
    "precheck_start",
    "precheck_stuck_ids",
    "question_answer",
    "question_ask",
    "question_note_add",
    "questions_sla_advance",
    "retention_apply",
    "review_recommend",
    "review_reject",
    "review_request_documents",
    "review_resume",
    "sla_advance",
    "stage_due_at",
    "walk_in_claim",
    "walk_in_link_send",
    "walk_in_start",
]
