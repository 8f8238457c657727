"""A small city for findings: the units of tests/factories.py and two test sites, one per street."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cityline.db import transaction
from cityline.inspection import service
from tests.factories import add_units

SITES = [
    {"code": "TS-CJD-01", "name": "曹家渡街道万航渡路核酸采样点", "kind": "test_site", "district": "静安区",
     "street": "曹家渡街道", "address": "静安区万航渡路500号", "unit": "SH-JA-CJD"},
    {"code": "TS-JNL-01", "name": "江宁路街道昌平路核酸采样点", "kind": "test_site", "district": "静安区",
     "street": "江宁路街道", "address": "静安区昌平路700号", "unit": "SH-JA-JNL"},
]


def photo(kind: str = "JPEG", size: tuple[int, int] = (64, 48), colour: str = "orange") -> bytes:
    """A real, small photo made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def add_sites(sessions) -> None:
    with transaction(sessions) as session:
        for site in SITES:
            service.upsert_site(session, site)


@pytest.fixture
def site_city(sessions):
    add_units(sessions)
    add_sites(sessions)
    return sessions
