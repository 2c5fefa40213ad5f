"""The walk-in buyer's link: ``/claim/<token>/``, texted to the number the dealer gave.

Nothing about the file shows until the visitor proves that number: a one-time code is texted to it
on request (never by opening the link, which message previews do) and entered here. The proof is
kept in the session (the claim's id), which survives signing in or signing up; then, signed in with
that number, the buyer takes the file over and continues it as their own draft: their details,
their consents, their submission. The token is the only thing the address carries; the number and
the code are never in it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.code_forms import CodeForm
from accounts.code_views import invalid_message, not_sent_message, refusal_message
from accounts.otp.services import CodeInvalid, CodeNotSent, CodeRefused

from ... import ratelimit
from ...models import WalkInClaim
from ...services import dealer as dealer_services
from ...services.lifecycle import TransitionRefused

TEMPLATE = "applications/dealer/claim.html"
SESSION_KEY = "walk_in_claims"  # ids of the claims whose number this session proved


def _proved(request: HttpRequest, claim: WalkInClaim) -> bool:
    return claim.pk in request.session.get(SESSION_KEY, [])


def _prove(request: HttpRequest, claim: WalkInClaim) -> None:
    proved = [pk for pk in request.session.get(SESSION_KEY, []) if pk != claim.pk][-4:]
    request.session[SESSION_KEY] = [*proved, claim.pk]


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, token: str) -> HttpResponse:
    found = dealer_services.claim_for_token(token)
    if found is None:
        raise Http404
    application = found.application
    if found.claimed_at is not None:
        if request.user.is_authenticated and application.customer_id == request.user.pk:
            return redirect("applications:detail", reference=application.reference)
        return render(request, TEMPLATE, {"step": "used"}, status=410)
    here = reverse("applications:claim", args=[token])
    context: dict = {"claim": found, "application": application, "dealer": application.dealer}
    action = request.POST.get("action") if request.method == "POST" else None

    if not _proved(request, found):
        form = CodeForm(request.POST if action == "verify" else None)
        if action == "send":
            try:
                dealer_services.claim_code_send(claim=found, client_ip=ratelimit.client_ip(request))
            except CodeRefused as refused:
                messages.error(request, refusal_message(refused))
            except CodeNotSent:
                messages.error(request, not_sent_message())
            else:
                request.session[f"{SESSION_KEY}_sent"] = found.pk
                messages.info(
                    request, _("We have sent a code to %(phone)s.") % {"phone": found.masked_buyer_phone}
                )
            return redirect(here)
        if action == "verify" and form.is_valid():
            try:
                dealer_services.claim_code_verify(claim=found, code=form.cleaned_data["code"])
            except CodeInvalid as invalid:
                form.add_error("code", invalid_message(invalid))
            else:
                _prove(request, found)
                return redirect(here)
        code_sent = request.session.get(f"{SESSION_KEY}_sent") == found.pk
        return render(request, TEMPLATE, {**context, "step": "code", "form": form, "code_sent": code_sent})

    if not request.user.is_authenticated:
        return render(
            request,
            TEMPLATE,
            {
                **context,
                "step": "sign_in",
                "login_url": f"{reverse('accounts:login')}?{urlencode({REDIRECT_FIELD_NAME: here})}",
                "signup_url": f"{reverse('accounts:signup')}?{urlencode({REDIRECT_FIELD_NAME: here})}",
            },
        )
    if not dealer_services.may_claim(claim=found, user=request.user):
        return render(request, TEMPLATE, {**context, "step": "other_account"}, status=403)
    if action == "claim":
        try:
            dealer_services.walk_in_claim(claim=found, user=request.user)
        except (TransitionRefused, PermissionDenied) as refused:
            messages.error(request, str(refused))
            return redirect(here)
        messages.success(
            request,
            _(
                "Application %(reference)s is yours. Check the details, fill in your own and give your consent."
            )
            % {"reference": application.display_reference},
        )
        return redirect("applications:apply_step", application.reference, "personal")
    return render(request, TEMPLATE, {**context, "step": "confirm"})
