"""Dealers' pages: the workspace of a dealership's staff (``workspace``), and the page where a
walk-in buyer claims the application a dealer started for them (``claim``)."""
