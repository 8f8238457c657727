"""The Spark engine: one Spark session per process, and what the analyses ask of it.

The briefing (``analytics/queries.py``) and the epidemic analyses (``epidemic/queries.py``)
run the same SQL on DuckDB (the default) or on Spark over the same Parquet files, chosen
by ``CITYLINE_ANALYTICS_ENGINE`` or a command's ``--engine``. pyspark is the ``spark``
extra and is imported here only, and only when the spark engine is used.

Each use opens its own :func:`workspace` (``newSession()``: the one SparkContext, but
temporary views of its own), so two analyses never see each other's ``orders`` or
``cases``. Every workspace reads and writes instants in UTC and takes ``"name"`` as a
quoted name, as DuckDB does, so one statement means the same on both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")

# Set on every workspace: what the shared statements assume of an engine.
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

_lock = threading.Lock()
_session: SparkSession | None = None


def check_engine(name: str) -> str:
    if name not in ENGINES:
        raise ValueError(f"the analytics engine is duckdb or spark, not {name!r}")
    return name


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's Spark session, started on first use. Under ``spark-submit`` the master
    and resources are spark-submit's; otherwise ``master`` (default: ``CITYLINE_SPARK_MASTER``),
    with ``conf`` (e.g. fewer shuffle partitions for small data)."""
    global _session
    with _lock:
        if _session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("cityline").config("spark.ui.enabled", "false") \
                .config("spark.ui.showConsoleProgress", "false")
            if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not started by spark-submit
                from cityline.config import get_settings

                builder = builder.master(master or get_settings().spark_master)
            for key, value in {**(conf or {}), **SQL_CONF}.items():
                builder = builder.config(key, value)
            _session = builder.getOrCreate()
            _session.sparkContext.setLogLevel("ERROR")
        return _session


def workspace() -> SparkSession:
    """A session of its own (its own temporary views) on the process's Spark context."""
    own = spark_session().newSession()
    for key, value in SQL_CONF.items():
        own.conf.set(key, value)
    return own


def arrow_view(spark: SparkSession, name: str, table: pa.Table) -> None:
    """``table`` as the temporary view ``name`` (DuckDB's ``register``)."""
    spark.createDataFrame(table).createOrReplaceTempView(name)


def parquet_view(spark: SparkSession, name: str, files: Sequence[str], schema: pa.Schema,
                 base: str | None = None) -> None:
    """The Parquet ``files`` as the temporary view ``name``; with ``base``, the folders between
    it and the files are read as partition columns (``day=2022-04-01``). No files: an empty
    view of ``schema``."""
    if not files:
        arrow_view(spark, name, schema.empty_table())
        return
    from pyspark.sql.pandas.types import from_arrow_schema

    # The schema given, not inferred: inferring reads every file's footer first (seconds for a
    # month of day files). Cached: a briefing reads the same view a dozen times.
    reader = spark.read.schema(from_arrow_schema(schema))
    frame = (reader.option("basePath", base) if base else reader).parquet(*files)
    frame.cache().createOrReplaceTempView(name)


def arrow(spark: SparkSession, statement: str, args: dict[str, Any] | None = None) -> pa.Table:
    return spark.sql(statement, args=args or None).toArrow()
