"""``cityline backup FILE`` and ``cityline restore FILE``: the database and the data directory's
files that cannot be made again, in one archive.

The archive is a tar file:

    manifest.json        what it holds: the database kind, its schema revision, row counts, files
    database.sqlite      the embedded database, copied with SQLite's online backup API
                         (a consistent copy while the server keeps writing), or
    database.pgdump      PostgreSQL's custom-format dump (``pg_dump -Fc``, one snapshot)
    data/epidemic/…      the epidemic fact store: each kind's manifest and the Parquet files
                         it lists (copied under the kind's writer lock), and the residents' ledger

What is left out, and why:

- ``secret.key`` — the key that protects callers' phone numbers. A backup that holds both the
  data and its key gives away every number to whoever gets the file; keep the key (or
  ``CITYLINE_SECRET_KEY``) apart, in the secret store. A restore under another key keeps the
  orders but cannot show their phone numbers.
- ``analytics/`` — the export is made from the store again (``serve`` does it in the
  background, or ``cityline analytics export``); a restore removes it, because an export of
  the database before the restore would otherwise be taken for a current one.
- ``cache/`` (triage's training cache), ``outbox.log`` (notices delivered: their messages
  stay in the database), ``demo.json`` — made again, or only a log.
- Triage models, knowledge vectors, briefings, the audit log live in the database.

A restore refuses a database that holds any row, or a data directory that holds epidemic
facts, unless ``force``; it then replaces both, and brings the database to the current
schema (a backup from an older cityline is migrated).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url, select, text
from sqlalchemy.engine import URL

from cityline.db import make_engine, utcnow
from cityline.epidemic.facts import MANIFEST, FactStore
from cityline.epidemic.kinds import KINDS
from cityline.errors import BadFile, Conflict, Invalid

FORMAT = "cityline-backup"
VERSION = 1
SQLITE_MEMBER = "database.sqlite"
POSTGRES_MEMBER = "database.pgdump"
FACTS = "epidemic"  # the fact store's folder in the data directory, and in the archive under data/


@dataclass
class BackupReport:
    database: str  # sqlite | postgresql
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.database} database at revision {self.revision}: {sum(self.rows.values()):,} rows "
                f"in {len(self.rows)} tables, {len(self.files)} data files")


def backup(url: str, data_dir: Path, target: Path) -> BackupReport:
    """Write the archive of the database at ``url`` and of ``data_dir``'s facts to ``target``
    (written beside it and renamed into place: a failed backup leaves no half archive)."""
    engine = make_engine(url)
    try:
        report = BackupReport(_kind(url), _revision(engine), _row_counts(engine))
    finally:
        engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with tempfile.TemporaryDirectory(prefix="cityline-backup-") as scratch:
        try:
            with tarfile.open(partial, "w") as archive:
                dump = Path(scratch) / "database"
                if report.database == "sqlite":
                    _sqlite_copy(_sqlite_path(url), dump)
                    archive.add(dump, SQLITE_MEMBER)
                else:
                    _pg_dump(url, dump)
                    archive.add(dump, POSTGRES_MEMBER)
                report.files = _add_facts(archive, data_dir / FACTS)
                manifest = {"format": FORMAT, "version": VERSION, "database": report.database,
                            "revision": report.revision, "rows": report.rows, "files": report.files,
                            "created_at": utcnow().isoformat()}
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return report


def restore(url: str, data_dir: Path, source: Path, *, force: bool = False) -> BackupReport:
    """Put the archive ``source`` back into the database at ``url`` and into ``data_dir``.
    Refuses (:class:`Conflict`) when either already holds data, unless ``force``."""
    if not source.is_file():
        raise BadFile(f"no backup file {source}")
    try:
        archive = tarfile.open(source, "r")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as error:
        raise BadFile(f"{source} is not a cityline backup (not a tar archive: {error})") from None
    with archive, tempfile.TemporaryDirectory(prefix="cityline-restore-") as scratch:
        manifest = _manifest(archive, source)
        kind = _kind(url)
        if manifest["database"] != kind:
            raise Invalid(f"{source} is a backup of a {manifest['database']} database; the configured "
                          f"database is {kind} (restore it into a {manifest['database']} database)")
        engine = make_engine(url)
        try:
            holding = [name for name, n in _row_counts(engine, first_only=True).items() if n]
        finally:
            engine.dispose()
        facts = data_dir / FACTS
        if not force and (holding or _holds_facts(facts)):
            what = (f"the database holds rows (in {', '.join(holding[:5])}{' …' if len(holding) > 5 else ''})"
                    if holding else f"{facts} holds epidemic facts")
            raise Conflict(f"not restoring over data: {what}; restore into an empty database, "
                           f"or add --force to replace it")
        member = SQLITE_MEMBER if kind == "sqlite" else POSTGRES_MEMBER
        dump = Path(scratch) / member
        _extract(archive, member, dump, source)
        staged = Path(scratch) / "data"
        for name in manifest["files"]:
            _extract(archive, f"data/{name}", staged / name, source)
        if kind == "sqlite":
            _sqlite_restore(dump, _sqlite_path(url), source)
        else:
            _pg_restore(url, dump, source)
        _replace_folder(staged / FACTS, facts)
        shutil.rmtree(data_dir / "analytics", ignore_errors=True)  # made from the old database
    if manifest.get("revision"):  # a backup of an older cityline is brought to this one's schema
        from cityline.schema import upgrade

        upgrade(url)
    return BackupReport(kind, manifest.get("revision"), manifest.get("rows", {}), manifest["files"])


# -- the database -------------------------------------------------------------------------------


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise Invalid(f"backup knows SQLite and PostgreSQL databases, not {name}")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise Invalid("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _row_counts(engine: Engine, *, first_only: bool = False) -> dict[str, int]:
    """Rows per table of the database (``first_only``: 0 or 1, enough to say whether it is empty)."""
    from cityline.schema import metadata

    counts = {}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in metadata().sorted_tables:
            if table.name in present:
                if first_only:
                    counts[table.name] = len(conn.execute(select(text("1")).select_from(table).limit(1)).all())
                else:
                    counts[table.name] = conn.execute(select(text("count(*)")).select_from(table)).scalar_one()
    return counts


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections read and write."""
    if not source.exists():
        raise BadFile(f"the SQLite database {source} does not exist")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _sqlite_restore(dump: Path, target: Path, archive: Path) -> None:
    try:
        with closing(sqlite3.connect(dump)) as src:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BadFile(f"{archive} is damaged: its database fails SQLite's integrity check")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Into the live file through SQLite itself, so that connections still open (and the
            # WAL) see the restored database, not a file swapped under them.
            with closing(sqlite3.connect(target, timeout=30)) as dst:
                src.backup(dst)
    except sqlite3.DatabaseError as error:
        raise BadFile(f"{archive} is damaged: its database cannot be read ({error})") from None


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client program (Debian keeps one folder per version,
    like the server binaries tests/pg.py finds), else the one on PATH."""
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise Invalid(f"{name} is not installed (install the PostgreSQL client of the server's version)")
    return path


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for libpq's programs (no driver name), and the password in their environment
    rather than on their command line (where any user of the machine could read it)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise Invalid(f"{what} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(url: str, target: Path) -> None:
    address, env = _libpq(url)
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", f"--file={target}", address],
         env, "pg_dump")


def _pg_restore(url: str, dump: Path, archive: Path) -> None:
    address, env = _libpq(url)
    listed = subprocess.run([pg_tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BadFile(f"{archive} is damaged: its PostgreSQL dump cannot be read "
                      f"({listed.stderr.strip()[-500:]})")
    _drop_tables(url)
    # One transaction: a restore that fails leaves the (emptied) database as it was, not half-filled.
    _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
          f"--dbname={address}", str(dump)], env, "pg_restore")


def _drop_tables(url: str) -> None:
    """cityline's tables (and its alembic_version), so the dump's own create them with what
    it holds. Only cityline's: a table of anything else sharing the database stays."""
    from cityline.orders import search
    from cityline.orders.models import escalation_drop_statements
    from cityline.schema import metadata

    ours = {table.name for table in metadata().sorted_tables} | {"alembic_version", search.TABLE}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            names = [name for name in inspect(conn).get_table_names() if name in ours]
            if names:
                quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
                conn.execute(text(f"DROP TABLE {quoted} CASCADE"))
            for statement in escalation_drop_statements("postgresql"):  # a function outlives its tables
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


# -- the data directory's files --------------------------------------------------------------------


def _add_facts(archive: tarfile.TarFile, root: Path) -> list[str]:
    """The committed fact files of each kind (under its writer lock, so no import or compaction
    changes them meanwhile) and the residents' ledger. Names relative to the data directory."""
    added: list[str] = []
    if not root.exists():
        return added
    store = FactStore(root, "UTC")
    for kind in KINDS:
        if not (root / kind / MANIFEST).exists():
            continue
        with store.locked(kind) as folder:
            names = [MANIFEST, *(entry["file"] for entry in store.manifest(kind)["files"])]
            for name in names:
                member = f"{FACTS}/{kind}/{name}"
                archive.add(folder / name, f"data/{member}")
                added.append(member)
    ledger = store.ledger_path()
    if ledger.exists():
        member = str(Path(FACTS) / ledger.relative_to(root))
        archive.add(ledger, f"data/{member}")
        added.append(member)
    return added


def _holds_facts(root: Path) -> bool:
    return any((root / kind / MANIFEST).exists() for kind in KINDS)


def _replace_folder(staged: Path, target: Path) -> None:
    """The restored fact store in place of the old one (moved aside first, removed last)."""
    aside = target.with_name(f".{target.name}.before-restore")
    shutil.rmtree(aside, ignore_errors=True)
    if target.exists():
        target.rename(aside)
    if staged.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), target)
    shutil.rmtree(aside, ignore_errors=True)


# -- the archive ---------------------------------------------------------------------------------


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def _manifest(archive: tarfile.TarFile, source: Path) -> dict:
    try:
        member = archive.extractfile("manifest.json")
        manifest = json.loads(member.read()) if member else None
    except (KeyError, tarfile.TarError, ValueError, OSError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadFile(f"{source} is not a cityline backup (no manifest.json of a cityline backup in it)")
    if (manifest.get("version") != VERSION or manifest.get("database") not in ("sqlite", "postgresql")
            or not isinstance(manifest.get("files"), list)):
        raise BadFile(f"{source} is a cityline backup of a kind this version cannot restore "
                      f"(version {manifest.get('version')}, database {manifest.get('database')})")
    return manifest


def _extract(archive: tarfile.TarFile, name: str, target: Path, source: Path) -> None:
    """One member to ``target``; names come from the manifest, never used as paths unchecked."""
    if name.startswith("/") or ".." in Path(name).parts:
        raise BadFile(f"{source} names a file outside the data directory: {name}")
    try:
        member = archive.extractfile(name)
        if member is None:
            raise KeyError(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with member, target.open("wb") as out:
            shutil.copyfileobj(member, out)
    except KeyError:
        raise BadFile(f"{source} is damaged: {name} is missing from it") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BadFile(f"{source} is damaged: {name} cannot be read ({error})") from None
