"""The Content-Security-Policy: every page gets it, it allows no inline script or style, and no
template of ours carries one (so the policy never has to be loosened for them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(
    path
    for folder in [ROOT / "templates", *ROOT.glob("*/templates")]
    if ".venv" not in folder.parts
    for path in folder.rglob("*.html")
)
# An inline <script> (one with no src, JSON data aside), a <style> element, a style="" attribute or
# an event handler attribute (onclick="…"): each refused by a policy without 'unsafe-inline'.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\"",
    re.IGNORECASE,
)


def test_no_template_has_inline_script_or_style():
    assert len(TEMPLATES) > 30  # the templates are found
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in TEMPLATES
        if (found := INLINE.findall(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"move these into files under static/: {offenders}"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/"])
def test_every_page_carries_the_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
