"""Shared infrastructure below every app: helpers that know nothing of the domain.

``identifiers`` and ``money`` are plain Python; ``pii`` uses Django (settings for the keys, model
fields, validation errors) but no app. Nothing here imports from ``accounts``, ``applications``,
``reviews``, ``notifications`` or ``reports``; they import from here. Data migrations may import from
here too, since these modules do not move.
"""
