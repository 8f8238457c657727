"""The briefing read from a copy of the export elsewhere — an object store (an S3 server in
this process, spoken to by pyarrow's own S3 client; Spark, whose Hadoop connectors for object
stores are not installed here, reads a ``file://`` URI in test_spark.py) — is the briefing of
the local export, to the last figure; such an export is read-only, and a location that cannot
be read is said so."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from typer.testing import CliRunner

from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.cli import app
from cityline.locations import LocationError

DAY = date(2020, 1, 28)
NOW = datetime(2020, 1, 29, tzinfo=UTC)


def copy_export(dataset: Dataset, fs: pafs.FileSystem, to: str) -> None:
    """The export's files (not its lock) copied as an operator's sync would."""
    local = pafs.LocalFileSystem()
    for info in local.get_file_info(pafs.FileSelector(str(dataset.folder.absolute()), recursive=True)):
        if info.type == pafs.FileType.File and not info.base_name.startswith("."):
            inside = info.path[len(str(dataset.folder.absolute())) + 1:]
            pafs.copy_files(info.path, f"{to}/{inside}", source_filesystem=local, destination_filesystem=fs)


def test_the_briefing_of_an_export_copied_to_s3_is_the_local_one(small_city, s3):
    fs, uri = s3
    copy_export(small_city.dataset, fs, "hotline/analytics")
    for scheme in ("s3", "s3a"):  # s3a: Spark's name for the same store
        remote = Dataset(uri(scheme, "hotline/analytics"))
        assert remote.remote and remote.days() == small_city.dataset.days()
        assert remote.uri(remote.day_file(DAY)) == f"{scheme}://hotline/analytics/orders/{DAY}.parquet"
        expected = build_briefing(small_city.dataset, DAY, now=NOW, engine="duckdb")
        found = build_briefing(remote, DAY, now=NOW, engine="duckdb")
        assert expected.as_json()["issues"] and found.as_json() == expected.as_json()
        assert (found.curve, found.districts) == (expected.curve, expected.districts)


def test_an_export_at_a_uri_is_read_only(small_city, tmp_path):
    remote = Dataset(f"file://{small_city.dataset.folder.absolute()}")
    assert remote.exported_at() == small_city.dataset.exported_at() and remote.version() == small_city.dataset.version()
    with pytest.raises(LocationError, match="read-only"):
        remote.write_units(pa.table({}))
    with pytest.raises(LocationError, match="read-only"), remote.locked():
        pass
    assert Dataset(f"file://{tmp_path}/nothing").days() == []


def test_brief_names_an_export_location_it_cannot_read(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYLINE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["brief", "--date", "2020-01-28", "--format", "json",
                                      "--export-dir", "nosuch://bucket/analytics"])
    assert result.exit_code == 2
    assert "--export-dir" in result.output and "nosuch://bucket/analytics" in result.output
