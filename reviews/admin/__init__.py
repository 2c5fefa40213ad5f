"""The back office in Django admin: the work queue, the application page and its staff actions.

Every write here calls a service: transitions (``applications.services``, through
``transitions.STAFF_TRANSITIONS``), document verdicts, assignments and unmasking (``reviews.services``).
The page itself is read-only for everyone, superusers included: no field of an application is
edited in a form.

The package is split by what staff work on: ``queue.py`` (the work queue), ``application_page.py``
and ``inlines.py`` (the application page), both halves of ``LoanApplicationAdmin``
(``loan_application.py``), with ``documents.py`` (opening a document) and ``search.py`` (the
queue's search box); ``history.py`` (every event of the files in the user's scope);
``configuration.py`` (assignment rules) and ``logs.py`` (assignments and the access log: identifiers
shown in full, documents opened); ``questions.py`` (customers' questions: the queue of threads
awaiting a reply, the reply form, canned answers). Django's autodiscovery imports this package:
importing the modules here registers their admins.
"""

from __future__ import annotations

from . import configuration, history, logs, questions, staff
from .loan_application import LoanApplicationAdmin
from .queue import CappedCountPaginator

__all__ = [
    "CappedCountPaginator",
    "LoanApplicationAdmin",
    "configuration",
    "history",
    "logs",
    "questions",
    "staff",
]
