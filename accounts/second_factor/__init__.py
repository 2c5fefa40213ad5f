"""Staff sign in with a second factor: a TOTP authenticator app (django-otp), with recovery codes.

When ``STAFF_REQUIRE_2FA`` is on (always in production settings), a staff account signed in with
its password is only half signed in: ``StaffSecondFactorMiddleware`` sends every request to this
package's pages until the session is verified (django-otp's ``OTPMiddleware`` keeps the verified
device in the session). The first time, the staff member enrols an app (``enrol``: scan the QR
code, confirm a code) and is shown ten recovery codes once; afterwards every sign-in asks for a
code from the app or one recovery code (each works once). The admin site itself refuses unverified
staff as well (``admin_site.BackOfficeAdminSite``). Customers are never asked.

Managers reset a colleague's second factor from the back office (``reviews.admin.staff``): the
devices are deleted and every session of the colleague ends, so the next sign-in enrols anew;
``accounts.models.SecurityEvent`` records who did it to whom and when.
"""
