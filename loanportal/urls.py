from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from .health import health, health_web

admin.site.site_header = _("Loan Portal back office")
admin.site.site_title = _("Loan Portal")
admin.site.index_title = _("Work queues and configuration")

urlpatterns = [
    # Before the core's "dealer/<reference>/": the dealer's webhooks (notifications/webhooks/urls.py).
    path("dealer/webhooks/", include("notifications.webhooks.urls")),
    path("", include("applications.urls")),
    path("accounts/", include("accounts.urls")),
    path("inbox/", include("notifications.urls")),
    path("reports/", include("reports.urls")),
    # The REST API for dealers' systems (api/urls.py): /api/v1/, /api/schema/, /api/docs/.
    path("api/", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Status only (ok / unavailable, 200 / 500): loanportal/health.py.
    path("health/", health, name="health"),
    path("health/web/", health_web, name="health_web"),
]
