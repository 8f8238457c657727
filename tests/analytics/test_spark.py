"""The briefing on the spark engine is the briefing on DuckDB, to the last figure: a simulated
day's JSON (totals, categories, problems, emerging issues, hotspots, service, units), its
volume curve and districts. One Spark session for the run (the ``spark`` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cityline.analytics.brief import build_briefing
from cityline.analytics.queries import CATEGORY_COUNTS, spark_statement

DAY = date(2020, 1, 28)


def test_spark_statements_take_named_parameters():
    assert spark_statement(CATEGORY_COUNTS).count(":day") == 2 and "$" not in spark_statement(CATEGORY_COUNTS)


def test_the_briefing_on_spark_is_the_briefing_on_duckdb(spark, small_city):
    now = datetime(2020, 1, 29, tzinfo=UTC)
    duck = build_briefing(small_city.dataset, DAY, now=now, engine="duckdb")
    found = build_briefing(small_city.dataset, DAY, now=now, engine="spark")
    expected = duck.as_json()
    assert expected["issues"] and expected["emerging"] and expected["units"]  # every part has something to compare
    assert found.as_json() == expected
    assert (found.curve, found.districts) == (duck.curve, duck.districts)
