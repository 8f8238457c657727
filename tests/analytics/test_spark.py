"""The briefing on the spark engine is the briefing on DuckDB, to the last figure: a simulated
day's JSON (totals, categories, problems, emerging issues, hotspots, service, units), its
volume curve and districts. One Spark session for the run (the ``spark`` fixture), and one
briefing on it (~25 s): read from the export's ``file://`` URI, as a cluster is given the URIs of
an object store's copy (Spark's executors read the files themselves; a local export gives them
its files' paths, which Spark reads as local files)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cityline.analytics.brief import build_briefing
from cityline.analytics.dataset import Dataset
from cityline.analytics.queries import CATEGORY_COUNTS, spark_statement

DAY = date(2020, 1, 28)


def test_spark_statements_take_named_parameters():
    assert spark_statement(CATEGORY_COUNTS).count(":day") == 2 and "$" not in spark_statement(CATEGORY_COUNTS)


def test_the_briefing_on_spark_is_the_briefing_on_duckdb(spark, small_city):
    now = datetime(2020, 1, 29, tzinfo=UTC)
    local = small_city.dataset
    remote = Dataset(f"file://{local.folder.absolute()}")
    files = remote.files(date(2020, 1, 1), DAY)
    assert files and all(remote.uri(f).startswith("file:///") for f in files)
    assert all(local.uri(f) == f for f in local.files(date(2020, 1, 1), DAY))  # a local export: its paths
    duck = build_briefing(local, DAY, now=now, engine="duckdb")
    found = build_briefing(remote, DAY, now=now, engine="spark")
    expected = duck.as_json()
    assert expected["issues"] and expected["emerging"] and expected["units"]  # every part has something to compare
    assert found.as_json() == expected
    assert (found.curve, found.districts) == (duck.curve, duck.districts)
