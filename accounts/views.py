"""Sign up, sign in, sign out and password reset for customers. Thin: forms check, services write."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from common import ratelimit
from common.pii import keyed_hash

from .code_views import remember, signup_send
from .forms import TAKEN_MESSAGES, PasswordResetForm, SignInForm, SignUpForm
from .services import IdentifierTaken, user_sign_up

# Sign-up forms posted from one client address per 15 minutes, and password-reset emails asked
# for per hour from one address and to one address: no mail or SMS flood.
SIGN_UPS_PER_ADDRESS = 10
RESETS_PER_ADDRESS = 10
RESETS_PER_EMAIL = 3


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing up: the `next` page if it is ours, else the customer's home."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and not ratelimit.hit(
        "signup-address", ratelimit.client_ip(request), limit=SIGN_UPS_PER_ADDRESS, window=900
    ):
        form.add_error(None, _("Too many sign-ups from your network. Please try again in 15 minutes."))
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid() and form.cleaned_data["identifier"].kind == "phone":
        # A number is confirmed with a code before the account opens (accounts.code_views).
        phone = form.cleaned_data["identifier"].value
        error = signup_send(request, phone=phone)
        if error is None:
            password_hash = make_password(form.cleaned_data["password1"])
            remember(request, "signup", phone=phone, password=password_hash, next=_next_url(request))
            return redirect("accounts:signup_verify")
        form.add_error(None, error)
    elif request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        try:
            user = user_sign_up(phone_or_email=identifier.value, password=form.cleaned_data["password1"])
        except IdentifierTaken as taken:  # registered a moment ago by someone else
            form.add_error("identifier", TAKEN_MESSAGES[taken.kind])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect(_next_url(request))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image on another site cannot sign the customer out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        """Within the limits, Django's own (an email only to an account that has the address);
        past them, the same "sent" page and no email: nobody can flood an inbox through us."""
        email = form.cleaned_data["email"].lower()
        by_address = ratelimit.hit(
            "reset-address", ratelimit.client_ip(self.request), limit=RESETS_PER_ADDRESS, window=3600
        )
        by_email = ratelimit.hit("reset-email", keyed_hash(email), limit=RESETS_PER_EMAIL, window=3600)
        if by_address and by_email:
            return super().form_valid(form)
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever proved they read the account's email may sign in at once: the sign-in pause
        # (django-axes, keyed by user name — see throttling.py) is lifted on every device.
        axes_reset(username=form.user.get_username())
        return response


sign_in = SignInView.as_view()
sign_out = SignOutView.as_view()
password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view()
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
