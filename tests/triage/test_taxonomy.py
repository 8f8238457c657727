from pathlib import Path

import pytest

from cityline.taxonomy import load_taxonomy


def test_shipped_taxonomy_has_every_field():
    taxonomy = load_taxonomy()
    assert "help" in [entry.code for entry in taxonomy.kinds]
    assert len(taxonomy.categories) == 25
    assert [entry.code for entry in taxonomy.urgencies] == ["urgent", "sub_urgent", "normal"]
    assert "foreigner" in taxonomy.codes("special_group")


def test_names_and_epidemic_flag():
    taxonomy = load_taxonomy()
    assert taxonomy.name("EPI.MASK") == "口罩与防疫物资"
    assert taxonomy.name("EPI.MASK", "en") == "Masks and protective supplies"
    assert taxonomy.is_epidemic("EPI.TEST")
    assert not taxonomy.is_epidemic("GEN.OTHER")


def test_check_names_the_known_codes():
    taxonomy = load_taxonomy()
    taxonomy.check("category", "EPI.CODE")
    with pytest.raises(ValueError, match=r"unknown category 'EPI.NOPE'; known: EPI.TEST, "):
        taxonomy.check("category", "EPI.NOPE")
    with pytest.raises(ValueError, match="unknown special group 'giant'"):
        taxonomy.check("special_group", "giant")


def test_a_deployment_can_replace_the_taxonomy(tmp_path: Path):
    path = tmp_path / "mine.toml"
    rows = "\n".join(
        f'[[{table}]]\ncode = "{code}"\nzh = "中"\nen = "E"\n'
        for table, code in [("kind", "consult"), ("category", "EPI.X"), ("urgency", "normal"),
                            ("special_group", "elderly")]
    )
    path.write_text(rows, encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.codes("category") == ["EPI.X"]
    assert load_taxonomy(path) is taxonomy  # cached


def test_a_broken_taxonomy_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text('[[kind]]\ncode = "consult"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="lacks zh, en"):
        load_taxonomy(path)
    with pytest.raises(ValueError, match="not found"):
        load_taxonomy(tmp_path / "missing.toml")
