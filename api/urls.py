"""/api/: version 1 under /api/v1/, the OpenAPI 3 document at /api/schema/ and its reference
(Swagger UI, served from our static files) at /api/docs/."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "api"

urlpatterns = [
    path("v1/applications/", views.ApplicationListView.as_view(), name="application-list"),
    path(
        "v1/applications/<str:reference>/",
        views.ApplicationDetailView.as_view(),
        name="application-detail",
    ),
    path(
        "v1/applications/<str:reference>/history/",
        views.ApplicationHistoryView.as_view(),
        name="application-history",
    ),
    path(
        "v1/applications/<str:reference>/documents/",
        views.ApplicationDocumentsView.as_view(),
        name="application-documents",
    ),
    path(
        "v1/applications/<str:reference>/partner-steps/<str:kind>/",
        views.PartnerStepReportView.as_view(),
        name="partner-step-report",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    re_path(r"^", views.not_found),
]
