"""Shared infrastructure below every app: plain Python helpers that know nothing of the domain.

Nothing here imports from ``accounts``, ``applications``, ``reviews``, ``notifications`` or
``reports``; they import from here. Data migrations may import from here too, since these modules
do not move.
"""
