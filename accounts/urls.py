from django.urls import path

from . import code_views, security, views
from .second_factor import views as second_factor

app_name = "accounts"

urlpatterns = [
    path("signup/", views.sign_up, name="signup"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", views.password_reset_complete, name="password_reset_complete"),
    path("security/", security.security, name="security"),
    path("security/sign-out-everywhere/", security.sign_out_everywhere, name="sign_out_everywhere"),
    path("second-factor/", second_factor.verify, name="second_factor"),
    path("second-factor/enrol/", second_factor.enrol, name="second_factor_enrol"),
    # --- one-time codes by SMS (code_views.py) ---
    path("signup/verify/", code_views.signup_verify, name="signup_verify"),
    path("login/code/", code_views.signin_code, name="signin_code"),
    path("login/code/verify/", code_views.signin_code_verify, name="signin_code_verify"),
    path("password-reset/code/", code_views.reset_code, name="reset_code"),
    path("password-reset/code/verify/", code_views.reset_code_verify, name="reset_code_verify"),
    path("account/password/", code_views.password_change, name="password_change"),
    path("account/email/", code_views.email_change, name="email_change"),
    path("account/email/verify/", code_views.email_change_verify, name="email_change_verify"),
    path("account/phone/", code_views.phone_change, name="phone_change"),
    path("account/phone/verify/", code_views.phone_change_verify, name="phone_change_verify"),
]
