from django.urls import path

from .views import apply, documents, home, offer, privacy, questions, timeline, track
from .views.dealer import claim as dealer_claim
from .views.dealer import workspace as dealer

app_name = "applications"

urlpatterns = [
    path("", home.home, name="home"),
    # --- apply and documents (views/apply.py, views/documents.py) ---
    path("applications/new/", apply.apply_start, name="apply_start"),
    path("applications/<str:reference>/edit/<slug:step>/", apply.apply_step, name="apply_step"),
    path("applications/<str:reference>/review/", apply.apply_review, name="apply_review"),
    path(
        "applications/<str:reference>/documents/file/<uuid:public_id>/",
        documents.document_download,
        name="document_download",
    ),
    path(
        "applications/<str:reference>/documents/<slug:type_code>/",
        documents.document_upload,
        name="document_upload",
    ),
    # --- timeline, offer, track (views/timeline.py, views/offer.py, views/track.py) ---
    path("applications/", timeline.application_list, name="list"),
    path("applications/<str:reference>/", timeline.application_detail, name="detail"),
    path("applications/<str:reference>/offer/", offer.offer, name="offer"),
    path("applications/<str:reference>/offer/print/", offer.offer_print, name="offer_print"),
    path("applications/<str:reference>/withdraw/", timeline.application_withdraw, name="withdraw"),
    path("applications/<str:reference>/questions/", questions.question_ask, name="question_ask"),
    path(
        "applications/<str:reference>/questions/file/<uuid:public_id>/",
        questions.question_attachment,
        name="question_attachment",
    ),
    path("track/", track.track, name="track"),
    path("track/code/", track.track_code, name="track_code"),
    # --- privacy rights (views/privacy.py) ---
    path("privacy/", privacy.privacy, name="privacy"),
    path("privacy/my-data/", privacy.privacy_export, name="privacy_export"),
    path("privacy/correction/", privacy.privacy_correction, name="privacy_correction"),
    path("privacy/marketing/", privacy.privacy_marketing, name="privacy_marketing"),
    path("privacy/close/", privacy.privacy_close, name="privacy_close"),
    # --- a walk-in buyer's link (views/dealer/claim.py) ---
    path("claim/<str:token>/", dealer_claim.claim, name="claim"),
    # --- the dealer workspace (views/dealer/workspace.py) ---
    path("dealer/", dealer.workspace, name="dealer_workspace"),
    path("dealer/new/", dealer.walk_in_new, name="dealer_walk_in"),
    path("dealer/<str:reference>/", dealer.dealer_detail, name="dealer_detail"),
    path("dealer/<str:reference>/link/", dealer.dealer_link_resend, name="dealer_link_resend"),
    path(
        "dealer/<str:reference>/documents/<slug:type_code>/",
        dealer.dealer_document_upload,
        name="dealer_document_upload",
    ),
]
