from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """Django's admin with the back office's site as ``admin.site``: it refuses staff whose second
    factor is still owed (``accounts.second_factor.admin_site``)."""

    default_site = "accounts.second_factor.admin_site.BackOfficeAdminSite"
