"""The queue's search box: it posts, so a mobile number never reaches an address (``reviews.search``).

``QueueSearchMixin`` gives ``LoanApplicationAdmin`` the box's own URL (``search/``, POST only),
which answers with a redirect to the queue: ``?q=<reference>`` for a reference, ``?find=<token>``
for anything else, keeping the queue's other filters; ``FoundFilter`` reads the token back.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from common.identifiers import canonical_reference

from .. import search

FIND = "find"
# What a new search replaces in the queue's address: the old search, its page, admin's error flag.
REPLACED = ("q", FIND, "p", "e")


class FoundFilter(admin.SimpleListFilter):
    """The remembered search a ``?find=`` token names. It has no choices to list: the sidebar
    shows nothing for it (an empty template), the search box says what was searched."""

    title = _("search")
    parameter_name = FIND
    template = "admin/reviews/loanapplication/no_filter.html"

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True  # admin applies only the filters that have output

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        spec = search.search_recall(session=request.session, token=self.value())
        if spec is None:
            messages.warning(request, gettext("This search has expired: search again."))
            return queryset.none()
        return search.search_filter(queryset, spec)


def search_context(request: HttpRequest) -> dict:
    """What the queue's search box needs: where it posts, the other filters it keeps, and the
    remembered search in words (a mobile number masked)."""
    keep = request.GET.copy()
    for key in REPLACED:
        keep.pop(key, None)
    spec = search.search_recall(session=request.session, token=request.GET.get(FIND, ""))
    found = ""
    if spec and spec.get("masked"):
        found = gettext("Mobile number %(phone)s") % {"phone": spec["masked"]}
    if request.GET.get("q") and not search.is_reference(request.GET["q"]):
        messages.warning(
            request,
            gettext(
                "Search for a mobile number with the search box: it keeps the number out of the address."
            ),
        )
    return {
        "queue_search_url": reverse("admin:applications_loanapplication_search"),
        "queue_search_keep": keep.urlencode(),
        "queue_search_found": found,
    }


class QueueSearchMixin:
    def get_urls(self):
        return [
            path(
                "search/",
                self.admin_site.admin_view(require_POST(self.search_view)),
                name="applications_loanapplication_search",
            ),
            *super().get_urls(),
        ]

    def search_view(self, request: HttpRequest) -> HttpResponseRedirect:
        params = QueryDict(request.POST.get("keep", ""), mutable=True)
        for key in REPLACED:
            params.pop(key, None)
        term = request.POST.get("q", "")
        if search.is_reference(term):
            params["q"] = canonical_reference(term)
        elif term.strip():
            params[FIND] = search.search_remember(session=request.session, term=term)
        url = reverse("admin:applications_loanapplication_changelist")
        return HttpResponseRedirect(f"{url}?{params.urlencode()}" if params else url)
