"""Pages that send a one-time code by SMS and take it back: sign up, sign in and reset the password
with a code, change the email address or the number, and change the password.

Each flow has two steps: a form that sends the code (the number is kept in the session, encrypted,
never in a URL) and a page that takes it, with "send a new code". Where the answer could tell a
visitor whether a number has an account, the page and the message are the same either way
(``accounts.otp.services``: a stand-in row instead of a code).
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from common.pii import decrypt, encrypt, keyed_hash, mask_phone
from common.ratelimit import client_ip

from .code_forms import CodeForm, CodePasswordForm, EmailForm, PhoneCodesForm, PhoneForm
from .models import User
from .otp.models import Purpose
from .otp.services import CodeInvalid, CodeNotSent, CodeRefused, Notice, code_send, code_verify
from .services import IdentifierTaken, user_email_change, user_phone_change, user_sign_up_by_phone

SESSION_KEY = "one_time_codes"
BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- The words every flow shares ----------------------------------------------------------------


def refusal_message(refused: CodeRefused) -> str:
    if refused.wait:
        return _("Please wait %(seconds)s seconds before asking for another code.") % {
            "seconds": refused.wait
        }
    return _("Too many codes have been asked for. Please try again in an hour.")


def not_sent_message() -> str:
    return _("We could not send the text message just now. Please try again in a few minutes.")


def invalid_message(invalid: CodeInvalid) -> str:
    if invalid.exhausted:
        return _("This code has been tried too many times. Ask for a new one.")
    return _("The code is wrong or has expired. Check it, or ask for a new one.")


def send_code(request: HttpRequest, **kwargs) -> str | None:
    """``code_send`` with this request's client address; the error to show, or None when sent."""
    try:
        code_send(client_ip=client_ip(request), **kwargs)
    except CodeRefused as refused:
        return refusal_message(refused)
    except CodeNotSent:
        return not_sent_message()
    return None


# --- What a flow keeps between its steps (the session; the number encrypted) --------------------


def remember(request: HttpRequest, flow: str, *, phone: str, **extra: str) -> None:
    flows = request.session.get(SESSION_KEY, {})
    flows[flow] = {"phone": encrypt(phone), **extra}
    request.session[SESSION_KEY] = flows


def recall(request: HttpRequest, flow: str) -> dict[str, str] | None:
    state = request.session.get(SESSION_KEY, {}).get(flow)
    if not state:
        return None
    return {**state, "phone": decrypt(state["phone"])}


def forget(request: HttpRequest, flow: str) -> None:
    flows = request.session.get(SESSION_KEY, {})
    if flows.pop(flow, None) is not None:
        request.session[SESSION_KEY] = flows


def _account_for(phone: str, *, customers_only: bool = False) -> User | None:
    users = User._default_manager.filter(phone_hash=keyed_hash(phone), is_active=True)
    if customers_only:  # staff sign in with their password and second factor, never a text message
        users = users.filter(is_staff=False)
    return users.first()


def _code_page(
    request: HttpRequest, *, form, heading: str, intro: str, resend_url: str, **context
) -> HttpResponse:
    return render(
        request,
        "accounts/codes/enter_code.html",
        {"form": form, "heading": heading, "intro": intro, "resend_url": resend_url, **context},
    )


def _phone_page(
    request: HttpRequest, *, form, heading: str, intro: str, button: str, **context
) -> HttpResponse:
    return render(
        request,
        "accounts/codes/phone_form.html",
        {"form": form, "heading": heading, "intro": intro, "button": button, **context},
    )


# --- Sign up: the code step (the first step is accounts.views.sign_up) --------------------------


def signup_send(request: HttpRequest, *, phone: str) -> str | None:
    """Send the sign-up code, or to a number that has an account already, a note to its owner:
    the visitor sees the same page either way."""
    if not User._default_manager.filter(phone_hash=keyed_hash(phone)).exists():
        return send_code(request, purpose=Purpose.SIGN_UP, phone=phone)
    notice = Notice(
        template="signup_taken",
        text=_(
            "Someone tried to open a Loan Portal account with your mobile number. If it was you, sign in "
            "or reset your password with a code. If not, you need do nothing."
        ),
    )
    return send_code(request, purpose=Purpose.SIGN_UP, phone=phone, notice=notice)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def signup_verify(request: HttpRequest) -> HttpResponse:
    state = recall(request, "signup")
    if state is None:
        return redirect("accounts:signup")
    phone = state["phone"]
    form = CodeForm(request.POST if "code" in request.POST else None)
    if request.method == "POST" and "resend" in request.POST:
        error = signup_send(request, phone=phone)
        if error:
            messages.error(request, error)
        else:
            messages.info(request, _("We have sent a new text message."))
        return redirect("accounts:signup_verify")
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(purpose=Purpose.SIGN_UP, phone=phone, code=form.cleaned_data["code"])
            user = user_sign_up_by_phone(phone=phone, password_hash=state["password"])
        except CodeInvalid as invalid:
            form.add_error("code", invalid_message(invalid))
        except IdentifierTaken:
            form.add_error("code", invalid_message(CodeInvalid()))
        else:
            forget(request, "signup")
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect(state.get("next") or "applications:home")
    return _code_page(
        request,
        form=form,
        heading=_("Confirm your mobile number"),
        intro=_("We have sent a text message to %(phone)s. Enter the 6-digit code in it.")
        % {"phone": mask_phone(phone)},
        resend_url=reverse("accounts:signup_verify"),
        back_url=reverse("accounts:signup"),
        back_text=_("Use another number"),
    )


# --- Sign in with a code ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def signin_code(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("applications:home")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        user = _account_for(phone, customers_only=True)
        error = send_code(request, purpose=Purpose.SIGN_IN, phone=phone, user=user, deliver=user is not None)
        if error is None:
            remember(request, "signin", phone=phone, next=request.POST.get("next", ""))
            return redirect("accounts:signin_code_verify")
        form.add_error(None, error)
    return _phone_page(
        request,
        form=form,
        heading=_("Sign in with a text message"),
        intro=_("Enter the mobile number of your account. We will text you a code to sign in with."),
        button=_("Text me a code"),
        back_url=reverse("accounts:login"),
        back_text=_("Sign in with your password"),
    )


def _resend(request: HttpRequest, error: str | None, url: str) -> HttpResponse:
    if error:
        messages.error(request, error)
    else:
        messages.info(request, _("If the number is right, we have sent a new code."))
    return redirect(url)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def signin_code_verify(request: HttpRequest) -> HttpResponse:
    state = recall(request, "signin")
    if state is None:
        return redirect("accounts:signin_code")
    phone = state["phone"]
    if request.method == "POST" and "resend" in request.POST:
        user = _account_for(phone, customers_only=True)
        error = send_code(request, purpose=Purpose.SIGN_IN, phone=phone, user=user, deliver=user is not None)
        return _resend(request, error, reverse("accounts:signin_code_verify"))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = code_verify(purpose=Purpose.SIGN_IN, phone=phone, code=form.cleaned_data["code"])
        except CodeInvalid as invalid:
            form.add_error("code", invalid_message(invalid))
        else:
            forget(request, "signin")
            user = row.user
            assert user is not None  # a stand-in row matches no code
            # Whoever read the code holds the number: a sign-in pause on the account is lifted.
            axes_reset(username=user.get_username())
            login(request, user, backend=BACKEND)
            return redirect(state.get("next") or "applications:home")
    return _code_page(
        request,
        form=form,
        heading=_("Enter your code"),
        intro=_("If an account uses %(phone)s, we have texted it a 6-digit code. Enter it to sign in.")
        % {"phone": mask_phone(phone)},
        resend_url=reverse("accounts:signin_code_verify"),
        back_url=reverse("accounts:signin_code"),
        back_text=_("Use another number"),
    )


# --- Reset a forgotten password with a code -----------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def reset_code(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        user = _account_for(phone)
        error = send_code(request, purpose=Purpose.RESET, phone=phone, user=user, deliver=user is not None)
        if error is None:
            remember(request, "reset", phone=phone)
            return redirect("accounts:reset_code_verify")
        form.add_error(None, error)
    return _phone_page(
        request,
        form=form,
        heading=_("Reset your password"),
        intro=_(
            "Enter the mobile number of your account. We will text you a code to choose a new password with."
        ),
        button=_("Text me a code"),
        back_url=reverse("accounts:password_reset"),
        back_text=_("Reset by email instead"),
    )


@sensitive_post_parameters("code", "password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def reset_code_verify(request: HttpRequest) -> HttpResponse:
    state = recall(request, "reset")
    if state is None:
        return redirect("accounts:reset_code")
    phone = state["phone"]
    if request.method == "POST" and "resend" in request.POST:
        user = _account_for(phone)
        error = send_code(request, purpose=Purpose.RESET, phone=phone, user=user, deliver=user is not None)
        return _resend(request, error, reverse("accounts:reset_code_verify"))
    form = CodePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = code_verify(purpose=Purpose.RESET, phone=phone, code=form.cleaned_data["code"])
        except CodeInvalid as invalid:
            form.add_error("code", invalid_message(invalid))
        else:
            forget(request, "reset")
            user = row.user
            assert user is not None
            user.set_password(form.cleaned_data["password1"])
            user.save(update_fields=["password"])
            axes_reset(username=user.get_username())
            messages.success(request, _("Your password has been changed. Sign in with the new one."))
            return redirect("accounts:login")
    return _code_page(
        request,
        form=form,
        heading=_("Choose a new password"),
        intro=_(
            "If an account uses %(phone)s, we have texted it a 6-digit code. Enter it and your new password."
        )
        % {"phone": mask_phone(phone)},
        resend_url=reverse("accounts:reset_code_verify"),
        back_url=reverse("accounts:reset_code"),
        back_text=_("Use another number"),
        button=_("Save the new password"),
    )


# --- Signed in: change the email address, the number, the password ------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def email_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.phone:
        messages.info(request, _("Add a mobile number to your account first: the code goes to it."))
        return redirect("accounts:phone_change")
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        error = send_code(request, purpose=Purpose.EMAIL, phone=user.phone, user=user, context=email.lower())
        if error is None:
            remember(request, "email", phone=user.phone, email=email)
            return redirect("accounts:email_change_verify")
        form.add_error(None, error)
    return _phone_page(
        request,
        form=form,
        heading=_("Change your email address") if user.email else _("Add an email address"),
        intro=_("We will text a code to %(phone)s to confirm it is you.") % {"phone": user.masked_phone},
        button=_("Text me a code"),
        current=user.email,
    )


@login_required
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def email_change_verify(request: HttpRequest) -> HttpResponse:
    state = recall(request, "email")
    if state is None or state["phone"] != request.user.phone:
        return redirect("accounts:email_change")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(
                purpose=Purpose.EMAIL,
                phone=state["phone"],
                code=form.cleaned_data["code"],
                context=state["email"].lower(),
            )
            user_email_change(user=request.user, email=state["email"])
        except CodeInvalid as invalid:
            form.add_error("code", invalid_message(invalid))
        except IdentifierTaken:
            form.add_error(None, _("This email address cannot be used. Please choose another."))
        else:
            forget(request, "email")
            messages.success(request, _("Your email address is now %(email)s.") % {"email": state["email"]})
            return redirect("accounts:password_change")
    return _code_page(
        request,
        form=form,
        heading=_("Confirm the change"),
        intro=_("We have sent a 6-digit code to %(phone)s. Enter it to use %(email)s.")
        % {"phone": mask_phone(state["phone"]), "email": state["email"]},
        resend_url="",
        back_url=reverse("accounts:email_change"),
        back_text=_("Start again"),
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def phone_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["phone"]
        if new == user.phone:
            form.add_error("phone", _("This is the number your account has now."))
        else:
            # The new number proves it is yours; the current one that the change is yours.
            error = send_code(request, purpose=Purpose.PHONE_NEW, phone=new, user=user, context=str(user.pk))
            if error is None and user.phone:
                error = send_code(
                    request, purpose=Purpose.PHONE_OLD, phone=user.phone, user=user, context=new
                )
            if error is None:
                remember(request, "phone", phone=new)
                return redirect("accounts:phone_change_verify")
            form.add_error(None, error)
    return _phone_page(
        request,
        form=form,
        heading=_("Change your mobile number") if user.phone else _("Add a mobile number"),
        intro=_("We will text a code to the new number, and one to your current number if you have one."),
        button=_("Text me the codes"),
        current=user.masked_phone,
    )


@login_required
@sensitive_post_parameters("code_new", "code_old")
@never_cache
@require_http_methods(["GET", "POST"])
def phone_change_verify(request: HttpRequest) -> HttpResponse:
    state = recall(request, "phone")
    if state is None:
        return redirect("accounts:phone_change")
    user, new = request.user, state["phone"]
    form = PhoneCodesForm(request.POST or None, has_old=bool(user.phone))
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(
                purpose=Purpose.PHONE_NEW, phone=new, code=form.cleaned_data["code_new"], context=str(user.pk)
            )
        except CodeInvalid as invalid:
            form.add_error("code_new", invalid_message(invalid))
        if user.phone and form.is_valid():
            try:
                code_verify(
                    purpose=Purpose.PHONE_OLD,
                    phone=user.phone,
                    code=form.cleaned_data["code_old"],
                    context=new,
                )
            except CodeInvalid as invalid:
                form.add_error("code_old", invalid_message(invalid))
        if form.is_valid():
            try:
                user_phone_change(user=user, phone=new)
            except IdentifierTaken:
                form.add_error(None, _("This number cannot be used for your account. Please choose another."))
            else:
                forget(request, "phone")
                messages.success(
                    request, _("Your mobile number is now %(phone)s.") % {"phone": mask_phone(new)}
                )
                return redirect("accounts:password_change")
    return _code_page(
        request,
        form=form,
        heading=_("Confirm the new number"),
        intro=_("We have texted a 6-digit code to %(phone)s.") % {"phone": mask_phone(new)}
        + (" " + _("Your current number has had one too.") if user.phone else ""),
        resend_url="",
        back_url=reverse("accounts:phone_change"),
        back_text=_("Start again"),
    )


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    """Django's own (the old password, the new one twice; the session kept, other devices signed
    out), in the site's frame; the account page links from here to the email and number changes."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change")
    success_message = gettext_lazy("Your password has been changed.")


password_change = PasswordChangeView.as_view()
