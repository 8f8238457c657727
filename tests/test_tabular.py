"""cityline.tabular: every import's reader. Formats, encodings, row numbers, values, errors.

All personal data here is made up.
"""

import codecs
import json
import tracemalloc
from datetime import datetime

import pytest
from openpyxl import Workbook

from cityline.errors import BadFile, Invalid, RowError
from cityline.tabular import count_rows, detect_encoding, read_lines, read_rows

HEADER = "code,name,note\n"
ROWS = "A1,张三,测试一\nA2,李四,\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def rows_of(path, **options):
    return list(read_rows(path, **options))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_accepted_encoding(tmp_path, encoding):
    path = write(tmp_path / "units.csv", HEADER + ROWS, encoding)
    assert rows_of(path) == [(2, {"code": "A1", "name": "张三", "note": "测试一"}),
                             (3, {"code": "A2", "name": "李四", "note": None})]


def test_gb18030_beyond_gbk_and_a_lone_gbk_character(tmp_path):
    rare = write(tmp_path / "rare.csv", "code,name\nB1,𠀀𠀁堃\n", "gb18030")  # four-byte characters
    assert rows_of(rare) == [(2, {"code": "B1", "name": "𠀀𠀁堃"})]
    # charset-normalizer takes this one character for Big5; GB18030 decodes it and wins
    lone = write(tmp_path / "lone.csv", "code,name\nB2,张\n", "gbk")
    assert rows_of(lone) == [(2, {"code": "B2", "name": "张"})]


def test_gbk_after_a_long_ascii_start_is_still_recognised(tmp_path):
    ascii_rows = "".join(f"C{i},x,y\n" for i in range(8000))  # well past the first sample
    path = write(tmp_path / "late.csv", HEADER + ascii_rows + "C-last,王五,备注\n", "gbk")
    last = rows_of(path)[-1]
    assert last == (8002, {"code": "C-last", "name": "王五", "note": "备注"})


def test_quoted_multi_line_cell_is_one_row_and_blank_rows_are_counted(tmp_path):
    text = 'code,name,note\nA1,"第一行\n第二行",x\n\n,,\nA2,王五,y\n'
    assert rows_of(write(tmp_path / "m.csv", text)) == [
        (2, {"code": "A1", "name": "第一行\n第二行", "note": "x"}),
        (5, {"code": "A2", "name": "王五", "note": "y"}),  # rows 3 and 4 are blank
    ]


def test_header_names_trimmed_empty_cells_none_short_and_long_rows(tmp_path):
    text = "\ufeff code , name ,,note\nA1, ,extra-without-name\nA2,赵六,x,y,beyond\n"
    assert rows_of(write(tmp_path / "h.csv", text)) == [
        (2, {"code": "A1", "name": None, "note": None}),  # a space is empty; the short row has None
        (3, {"code": "A2", "name": "赵六", "note": "y"}),  # unnamed columns and cells are dropped
    ]


def test_undecodable_bytes_mid_file_spoil_only_their_row(tmp_path):
    good = (HEADER + "".join(f"D{i},市民{i},备注{i}\n" for i in range(20))).encode()
    damaged = good.replace("市民7".encode(), b"\xff\xfe7")
    path = tmp_path / "d.csv"
    path.write_bytes(damaged)
    rows = rows_of(path)
    assert len(rows) == 20
    bad = [(n, v) for n, v in rows if isinstance(v, RowError)]
    assert [(n, v.row) for n, v in bad] == [(9, 9)] and "not UTF-8 text" in bad[0][1].message
    assert rows[-1] == (21, {"code": "D19", "name": "市民19", "note": "备注19"})

    gbk = (HEADER + "".join(f"E{i},市民{i},备注\n" for i in range(20))).encode("gbk")
    path.write_bytes(gbk.replace("市民3".encode("gbk"), b"\xff\xff3"))
    bad = [n for n, v in rows_of(path) if isinstance(v, RowError)]
    assert bad == [5]


def test_undecodable_bytes_inside_a_multi_line_cell_spoil_that_row_only(tmp_path):
    text = 'code,name,note\nA1,"第一行\nXX第二行",x\nA2,王五,y\n'.encode().replace(b"XX", b"\xff")
    path = tmp_path / "m.csv"
    path.write_bytes(text)
    rows = rows_of(path)
    assert isinstance(rows[0][1], RowError) and rows[0][0] == 2
    assert rows[1] == (3, {"code": "A2", "name": "王五", "note": "y"})


def test_json_lines_bad_lines_blank_lines_and_values(tmp_path):
    lines = [json.dumps({"external_id": "J-1", " text ": "口罩", "note": "", "groups": ["elderly"]},
                        ensure_ascii=False),
             "", "   ", "{not json", "[1, 2]", '"text"', json.dumps({"external_id": "J-2", "n": 3})]
    path = write(tmp_path / "o.jsonl", "\n".join(lines))
    rows = rows_of(path, required=("absent",))  # no header in JSON Lines: nothing to require
    assert rows[0] == (1, {"external_id": "J-1", "text": "口罩", "note": None, "groups": ["elderly"]})
    errors = {n: v.message for n, v in rows if isinstance(v, RowError)}
    assert set(errors) == {4, 5, 6}
    assert "not valid JSON" in errors[4] and "JSON object" in errors[5]
    assert rows[-1] == (7, {"external_id": "J-2", "n": 3})
    assert rows_of(write(tmp_path / "o.ndjson", lines[0])) == rows[:1]


def test_json_lines_in_gbk_and_with_a_damaged_line(tmp_path):
    text = "\n".join(json.dumps({"id": i, "text": f"核酸检测{i}"}, ensure_ascii=False) for i in range(5))
    raw = text.encode("gbk").replace("测2".encode("gbk"), b"\xff2")
    path = tmp_path / "g.jsonl"
    path.write_bytes(raw)
    rows = rows_of(path)
    assert [n for n, v in rows if isinstance(v, RowError)] == [3]
    assert rows[-1] == (5, {"id": 4, "text": "核酸检测4"})


def test_xlsx_values_row_numbers_and_required_columns(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append([" external_id ", "received_at", "count", "text", None])
    sheet.append(["X-1", datetime(2020, 2, 10, 9, 0), 3, "二房东不退租金", "no header"])
    sheet.append([None, None, None, None])
    sheet.append(["X-2", "2020-02-10T09:05:00", None, "   "])
    book.save(tmp_path / "o.xlsx")
    rows = rows_of(tmp_path / "o.xlsx", required=("external_id", "text"))
    assert rows == [
        (2, {"external_id": "X-1", "received_at": datetime(2020, 2, 10, 9, 0), "count": 3, "text": "二房东不退租金"}),
        (4, {"external_id": "X-2", "received_at": "2020-02-10T09:05:00", "count": None, "text": None}),
    ]
    with pytest.raises(BadFile, match="missing required column.*caller_phone"):
        rows_of(tmp_path / "o.xlsx", required=("caller_phone",))


def test_files_that_cannot_be_read_raise_the_one_error(tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(BadFile, match="not a readable .xlsx"):
        rows_of(damaged)
    with pytest.raises(BadFile, match=r"unknown file type '\.txt'; use \.csv, \.jsonl .* or \.xlsx"):
        read_rows(write(tmp_path / "orders.txt", "x"))
    with pytest.raises(BadFile, match="no such file"):
        read_rows(tmp_path / "missing.csv")
    with pytest.raises(BadFile, match="no header"):
        rows_of(write(tmp_path / "empty.csv", "\n\n"))
    with pytest.raises(BadFile, match="missing required column.*received_at"):
        rows_of(write(tmp_path / "o.csv", "external_id,text\nA,口罩\n"), required=("external_id", "received_at"))
    with pytest.raises(BadFile, match="named twice.*code"):
        rows_of(write(tmp_path / "twice.csv", "code,name,code\n1,2,3\n"))
    with pytest.raises(BadFile, match="UTF-16"):
        rows_of(write(tmp_path / "u16.csv", HEADER + ROWS, "utf-16"))
    with pytest.raises(BadFile, match="zip archive"):
        rows_of(write(tmp_path / "book.csv", "PK\x03\x04rest"))
    assert issubclass(BadFile, Invalid)  # handlers of domain errors report it as they are


def test_encoding_detection():
    assert detect_encoding(b"code,name\nA,B\n", True) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + "名".encode(), True) == "utf-8-sig"
    assert detect_encoding(("市民反映口罩买不到，" * 50).encode("gbk"), True) == "gb18030"
    damaged = ("市民反映口罩买不到\n" * 50).encode() + b"\xff\n" + ("核酸\n" * 10).encode()
    assert detect_encoding(damaged, True) == "utf-8"
    cut = "市民反映".encode()[:-1]  # a sample may end inside a character
    assert detect_encoding(cut, False) == "utf-8"


def test_count_rows_is_cheap_and_never_fails(tmp_path):
    assert count_rows(write(tmp_path / "a.csv", HEADER + ROWS)) == 2
    assert count_rows(write(tmp_path / "b.csv", HEADER + "A1,x,y")) == 1  # no final newline
    assert count_rows(write(tmp_path / "c.jsonl", '{"a": 1}\n{"a": 2}\n')) == 2
    book = Workbook()
    for row in (["a"], [1], [2], [3]):
        book.active.append(row)
    book.save(tmp_path / "d.xlsx")
    assert count_rows(tmp_path / "d.xlsx") == 3
    assert count_rows(tmp_path / "missing.csv") is None
    assert count_rows(tmp_path / "e.txt") is None


def test_rows_stream_without_holding_the_file(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gbk") as handle:
        handle.write("external_id,text\n")
        for i in range(60_000):
            handle.write(f"N-{i},市民反映第{i}号楼电梯故障，请尽快维修\n")
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_rows(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 2_000_000, peak  # the file is ~2.5 MB: it is never held whole


def test_lines_of_a_question_file(tmp_path):
    path = write(tmp_path / "q.txt", "口罩在哪里买\n\n  核酸结果多久出  \r\n", "gbk")
    assert list(read_lines(path)) == [(1, "口罩在哪里买"), (3, "  核酸结果多久出  ")]
    path.write_bytes("口罩\n".encode() + b"\xff\xfe\n" + "核酸\n".encode())
    lines = list(read_lines(path))
    assert lines[0] == (1, "口罩") and isinstance(lines[1][1], RowError) and lines[2] == (3, "核酸")


def test_old_mac_line_endings(tmp_path):
    path = write(tmp_path / "mac.csv", "code,name\rA1,张三\rA2,\"两\r行\"\rA3,王五", "gbk")
    assert rows_of(path) == [(2, {"code": "A1", "name": "张三"}), (3, {"code": "A2", "name": "两\r行"}),
                             (4, {"code": "A3", "name": "王五"})]
