"""Photos are told by their content, never their name; the problem types are taxonomy-true."""

import pytest

from cityline.errors import Invalid
from cityline.inspection.rules import PhotoTooLarge, check_photo, header_size, load_problems
from cityline.taxonomy import load_taxonomy
from tests.inspection.conftest import photo


def test_jpeg_and_png_are_photos_with_their_size():
    assert check_photo(photo("JPEG", (64, 48)), "a.jpg", 10_000).__dict__ == {
        "media_type": "image/jpeg", "width": 64, "height": 48}
    assert check_photo(photo("PNG", (20, 30)), "b", 10_000).media_type == "image/png"


@pytest.mark.parametrize("data, why", [
    (b"%PDF-1.7 not a photo", "neither JPEG nor PNG"),
    (b"GIF89a" + bytes(40), "neither JPEG nor PNG"),
    (photo("JPEG")[:40], "does not decode"),  # cut off: the header is right, the picture is not
    (photo("PNG")[:30], "does not decode"),
])
def test_anything_else_is_refused_naming_the_file(data, why):
    with pytest.raises(Invalid) as refused:
        check_photo(data, "report.jpg", 10_000)
    assert why in refused.value.detail and "report.jpg" in refused.value.detail
    assert refused.value.code == "inspection.not_an_image"


def test_a_photo_over_the_limit_is_too_large():
    data = photo("PNG", (200, 200), "white")
    with pytest.raises(PhotoTooLarge) as refused:
        check_photo(data, "big.png", len(data) - 1)
    assert refused.value.status == 413
    assert check_photo(data, "big.png", len(data)).width == 200


def test_without_pillow_the_header_still_names_the_size():
    assert header_size("image/png", photo("PNG", (33, 22)), "p") == (33, 22)
    assert header_size("image/jpeg", photo("JPEG", (33, 22)), "j") == (33, 22)
    with pytest.raises(Invalid):
        header_size("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "j")


def test_problem_types_name_taxonomy_codes_in_both_languages():
    taxonomy = load_taxonomy()
    categories = {c.code for c in taxonomy.categories}
    urgencies = {u.code for u in taxonomy.urgencies}
    problems = load_problems()
    assert {"crowding", "no_distance", "queue_disorder", "no_masks", "no_temperature", "code_poster"} <= set(problems)
    for p in problems.values():
        assert p.category in categories and p.urgency in urgencies and p.zh and p.en


def test_the_loop_wants_a_photo_with_an_inspection_reply_only():
    from cityline.orders.rules import check_evidence

    with pytest.raises(Invalid) as refused:
        check_evidence("inspection", "reply", {"text": "已整改"})
    assert refused.value.code == "move.photo_required" and refused.value.errors[0].field == "photos"
    check_evidence("inspection", "reply", {"text": "已整改", "photos": ["a1.jpg"]})
    check_evidence("phone", "reply", {"text": "已处理"})
    check_evidence("inspection", "accept", {})
