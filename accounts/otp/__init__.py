"""One-time codes sent by SMS: the model (``models.py``) and the two services that issue and check
them (``services.py``). Views and forms that use them are ``accounts.code_views`` / ``code_forms``."""
