"""Where Parquet files are read from: a folder on this machine, or a URI elsewhere.

An analytics export or an epidemic fact store copied to an object store or a cluster's
file system (``s3a://bucket/analytics``; also ``s3://``, ``gs://``, ``hdfs://``,
``file://``) is read where it lies: listed and opened through pyarrow's file systems here,
and handed to Spark as the same URI, which its executors read themselves. Spark calls the
S3 connector ``s3a`` where pyarrow says ``s3``; both name the same objects.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PYARROW_SCHEMES = {"s3a": "s3", "s3n": "s3"}  # Hadoop's names for the stores pyarrow knows by another


class LocationError(ValueError):
    """A location that cannot be read, or written where only reading is possible."""


def split_location(location: str | Path) -> tuple[str | None, str]:
    """``(scheme, rest)`` of a URI such as ``s3a://bucket/analytics``; ``(None, folder)`` for
    a folder on this machine."""
    text = str(location)
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme.isidentifier():
        return None, text
    return scheme.lower(), rest


class Location:
    """A folder here (``remote`` False: plain paths) or at a URI (paths inside its file
    system, pure: joined, never opened directly)."""

    def __init__(self, where: str | Path) -> None:
        self.scheme, rest = split_location(where)
        self.fs: pafs.FileSystem
        self.root: Path
        if self.scheme is None:
            self.fs, self.root = pafs.LocalFileSystem(), Path(where)
            return
        try:
            self.fs, inside = pafs.FileSystem.from_uri(f"{PYARROW_SCHEMES.get(self.scheme, self.scheme)}://{rest}")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
            raise LocationError(f"cannot read {where}: {error}") from None
        self.root = PurePosixPath(inside)  # type: ignore[assignment]  # a path inside the store

    @property
    def remote(self) -> bool:
        return self.scheme is not None

    def uri(self, path: str | Path) -> str:
        """What an engine reading by itself (Spark's executors) is given for a file here."""
        return f"{self.scheme}://{path}" if self.remote else str(path)

    def exists(self, path: Path) -> bool:
        if not self.remote:
            return path.exists()
        return self.fs.get_file_info(str(path)).type == pafs.FileType.File

    def read_text(self, path: Path) -> str | None:
        """A small file (an index, a manifest), None when absent."""
        if not self.remote:
            return path.read_text(encoding="utf-8") if path.exists() else None
        try:
            with self.fs.open_input_stream(str(path)) as stream:
                return stream.read().decode("utf-8")
        except FileNotFoundError:
            return None

    def file_names(self, folder: Path) -> list[str]:
        """The names of the files in ``folder`` (one listing: on an object store each look is
        a request), without the hidden ones a writer leaves while it works."""
        if not self.remote:
            found = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        else:
            found = [info.base_name for info in self.fs.get_file_info(pafs.FileSelector(str(folder), allow_not_found=True))
                     if info.type == pafs.FileType.File]
        return sorted(name for name in found if not name.startswith("."))

    def read_schema(self, path: str | Path) -> pa.Schema:
        return pq.read_schema(str(path), filesystem=self.fs if self.remote else None)

    def writable(self) -> Path:
        """The folder, when it is on this machine; a URI is read-only here."""
        if self.remote:
            raise LocationError(f"{self.uri(self.root)} is read-only here: cityline writes to a folder on its own disk, "
                                "from which it is copied to an object store")
        return self.root


def read_schema(where: str) -> pa.Schema:
    """The schema of one Parquet file, named by a path here or a URI."""
    location = Location(where)
    return location.read_schema(location.root)
