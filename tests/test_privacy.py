"""Masking phone and ID numbers in free text (``cityline.privacy``). Pure: no database."""

from __future__ import annotations

import pytest

from cityline.privacy import Vault, mask_data, mask_name, mask_text


@pytest.mark.parametrize(("text", "masked"), [
    ("电话13912345678", "电话139****5678"),
    ("回电 139 1234 5678，谢谢", "回电 139****5678，谢谢"),
    ("139-1234-5678", "139****5678"),
    ("+86 139 1234 5678", "139****5678"),
    ("8613912345678", "139****5678"),
    ("0086-13912345678", "139****5678"),
    ("１３９１２３４５６７８", "139****5678"),  # full-width, as a Chinese input method types it
    ("13912345678x", "139****5678x"),
    # ID numbers keep the region (first 6) and the last 4 (15 digits: last 3): the birth date never shows
    ("身份证110101199003071234", "身份证110101********1234"),
    ("身份证号11010119900307123X。", "身份证号110101********123X。"),
    ("11010119900307123x", "110101********123X"),
    ("旧身份证110101900307123号", "旧身份证110101******123号"),
    ("１１０１０１１９９００３０７１２３４", "110101********1234"),
    ("座机021-12345678", "座机021****5678"),
    ("(021)12345678", "021****5678"),
    ("0571 8888 6666", "057****6666"),
    ("本地号码62345678", "本地号码******78"),
    ("卡号6222021234567890123", "卡号***************0123"),
])
def test_numbers_in_free_text_are_masked(text, masked):
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", [
    "工单20200128-00042已办结", "2020-01-28T10:00:00+08:00", "门牌号1203室，12345热线", "12345", "",
    "温度36.5度，共3人", "139****5678", "110101********1234",
])
def test_what_is_not_a_personal_number_stays(text):
    assert mask_text(text) == text


def test_mask_data_masks_every_string_inside_and_leaves_the_original_alone():
    data = {"reason": "请联系13912345678", "triage": {"evidence": ["110101199003071234", "口罩"]},
            "pair": ("13800001111", 2), "confidence": 0.9, "auto": True, "none": None}
    masked = mask_data(data)
    assert masked == {"reason": "请联系139****5678",
                      "triage": {"evidence": ["110101********1234", "口罩"]},
                      "pair": ["138****1111", 2], "confidence": 0.9, "auto": True, "none": None}
    assert data["reason"] == "请联系13912345678" and data["triage"]["evidence"][0] == "110101199003071234"


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("王小明", "王*明"), ("欧阳娜娜", "欧**娜"), ("Li Lei", "L*****"), ("王", "*"),
    ("张先生", "张先生"), ("李阿姨", "李阿姨"), ("欧阳女士", "欧阳女士"),
    ("王小明13912345678", "王*明139****5678"), ("王女士13600000003", "王女士136****0003"),
])
def test_a_name_is_masked_like_a_phone_but_a_form_of_address_stays(name, masked):
    assert mask_name(name) == masked
    assert "12345678" not in mask_name(name)


def test_a_phone_s_digest_stays_what_stored_orders_hold():
    """Repeat callers are found by the digest stored with each order, so its value never changes
    (HMAC-SHA256 of the normalised digits under the vault's key, 40 hex digits), however the
    number is spelt and whether it is digested alone or protected."""
    vault = Vault("test-secret")
    digest = "819c2fa1a0d58c6934f0ccb2eefd586ac6397d19"
    assert vault.phone_digest("+86 138 0000 1234") == digest
    assert vault.protect_phone("13800001234").digest == digest
