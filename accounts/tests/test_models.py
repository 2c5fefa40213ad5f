"""``User``: how a person's name is written."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

User = get_user_model()


@pytest.mark.parametrize(
    ("first", "last", "written"),
    [
        ("芳", "王", "王芳"),  # family name first, no space
        ("子怡", "欧阳", "欧阳子怡"),
        (" 芳 ", "王", "王芳"),
        ("", "王", "王"),
        ("Fang", "Wang", "Fang Wang"),  # as Django writes it
        ("Anna", "", "Anna"),
        ("", "", ""),
    ],
)
def test_a_full_name_is_written_as_its_language_writes_it(first, last, written):
    assert User(username="u", first_name=first, last_name=last).get_full_name() == written


def test_without_a_name_the_user_name_shows():
    assert User(username="customer-1").display_name() == "customer-1"
    assert User(username="customer-1", first_name="芳", last_name="王").display_name() == "王芳"
