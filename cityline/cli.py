"""The ``cityline`` command: assembles each domain's commands."""

from __future__ import annotations

from pathlib import Path

import typer

from cityline.accounts.cli import tokens_app, units_app, users_app
from cityline.accounts.outbox_cli import outbox_app, webhooks_app
from cityline.analytics.cli import app as analytics_app
from cityline.analytics.cli import brief_command
from cityline.checkpoints.cli import app as checkpoints_app
from cityline.demo import DEMO_REPLAY_SPEED, DEMO_SCALE
from cityline.epidemic.cli import app as epidemic_app
from cityline.geo.cli import app as grids_app
from cityline.inspection.cli import app as inspection_app
from cityline.intake.cli import app as intake_app
from cityline.knowledge.cli import app as knowledge_app
from cityline.orders.cli import app as orders_app
from cityline.routing.cli import dispatch_app
from cityline.sim.cli import app as sim_app
from cityline.sla.cli import app as sla_app
from cityline.triage.cli import app as triage_app

app = typer.Typer(help="cityline: the city service hotline as the nerve centre of an emergency response.",
                  no_args_is_help=True)
orders_app.registered_commands[:0] = intake_app.registered_commands  # create, import: ways in are intake's
app.add_typer(orders_app, name="orders")
app.add_typer(units_app, name="units")
app.add_typer(dispatch_app, name="dispatch")
app.add_typer(grids_app, name="grids")
app.add_typer(analytics_app, name="analytics")
app.command("brief", help="The daily briefing (快报) for a day: HTML, PDF or JSON (formats §3).")(brief_command)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(triage_app, name="triage", help="Triage: evaluate, train, list and roll back models.")
app.add_typer(knowledge_app, name="knowledge", help="Knowledge base: import, search, review, publish, mine.")
app.add_typer(sim_app, name="sim", help="The workload simulator: generate an outbreak's orders and its truth.")
app.add_typer(sla_app, name="sla", help="Deadlines: policies, deadline maths, the reminder worker.")
app.add_typer(epidemic_app, name="epidemic")
app.add_typer(checkpoints_app, name="checkpoints")
app.add_typer(inspection_app, name="inspection")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(outbox_app, name="outbox")
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command()
def upgrade() -> None:
    """Create or migrate the configured database to the current schema."""
    from cityline.config import get_settings
    from cityline.schema import upgrade as run_upgrade

    url = get_settings().resolved_database_url()
    run_upgrade(url)
    typer.echo(f"database is at the current schema ({url.split('@')[-1]})")


@app.command("backup")
def backup_command(file: Path = typer.Argument(..., help="the archive to write (a tar file)")) -> None:
    """Back up the configured database and the data directory's epidemic facts into FILE
    (not the key: keep it apart; docs/operations.md)."""
    from cityline.backup import backup
    from cityline.cliutil import fail
    from cityline.config import get_settings
    from cityline.errors import DomainError

    settings = get_settings()
    try:
        report = backup(settings.resolved_database_url(), settings.data_dir, file)
    except DomainError as error:
        raise fail(error) from None
    typer.echo(f"backed up to {file}: {report.summary()}")


@app.command("restore")
def restore_command(file: Path = typer.Argument(..., help="an archive written by cityline backup"),
                    force: bool = typer.Option(False, "--force", help="replace a database that holds data")) -> None:
    """Restore FILE into the configured database and data directory (stop the server first).
    Refuses a database that holds data unless --force."""
    from cityline.backup import restore
    from cityline.cliutil import fail
    from cityline.config import get_settings
    from cityline.errors import DomainError

    settings = get_settings()
    try:
        report = restore(settings.resolved_database_url(), settings.data_dir, file, force=force)
    except DomainError as error:
        raise fail(error) from None
    typer.echo(f"restored from {file}: {report.summary()}; the analytics export is made again "
               f"by serve (or: cityline analytics export)")


WORKER_HELP = "run the SLA reminder worker in this process too"


@app.command()
def serve(host: str | None = None, port: int | None = None,
          worker: bool = typer.Option(True, help=WORKER_HELP),
          workers: int = typer.Option(1, min=1, max=32,
                                      help="server processes answering requests (the SLA worker still runs once)"),
          ) -> None:
    """Serve the API (OpenAPI at /docs) and the console on the configured address."""
    from cityline import server
    from cityline.config import get_settings

    settings = get_settings()
    server.serve(host or settings.host, port or settings.port, worker=worker, workers=workers)


@app.command()
def demo(
    scale: float = typer.Option(DEMO_SCALE, help="share of the 2020 outbreak's real volume to simulate"),
    seed: int = 1, host: str | None = None, port: int | None = None,
    build_only: bool = typer.Option(False, "--build-only", help="build the demo database and stop"),
    worker: bool = typer.Option(True, help=WORKER_HELP),
    replay_speed: float = typer.Option(
        DEMO_REPLAY_SPEED, min=0,
        help="the live feed: new calls at this many times the outbreak's rate (scaled); 0 stops it"),
) -> None:
    """An outbreak in a box, happening now: build the 2020 scenario on today's calendar, then serve
    cityline with users for the whole city while the simulator keeps calling."""
    from cityline import demo as demo_box
    from cityline import runtime, server
    from cityline.config import get_settings
    from cityline.db import utcnow
    from cityline.privacy import default_vault

    settings = get_settings()
    info = demo_box.load_info(settings.data_dir)
    if info is not None and not info.current(utcnow()) and not settings.database_url:
        typer.echo(f"the demo in {settings.data_dir}/ was built on an earlier day or not finished: "
                   "building it again for today …")
        demo_box.clear(settings.data_dir)
        info = None
    if info is None:
        typer.echo(f"building the demo in {settings.data_dir}/ …")
        info = demo_box.build_city(runtime.sessions(), default_vault(), scale=scale, seed=seed, say=typer.echo)
        if build_only:
            demo_box.finish(runtime.sessions(), default_vault(), info, say=typer.echo)
            demo_box.save_info(settings.data_dir, info)
            typer.echo(f"built in {info.seconds:.0f} s")
        else:  # serve at once; the rest follows beside the server, and demo.json once it is done
            typer.echo(f"ready to serve after {info.seconds:.0f} s; trained triage, the analytics export, the "
                       "briefings and the 2022 epidemic data follow while it serves")
            demo_box.Finishing(runtime.sessions(), default_vault(), info, settings.data_dir, say=typer.echo)
    host, port = host or settings.host, port or settings.port
    typer.echo(demo_box.welcome(info, host, port))
    if build_only:
        return
    feed = demo_box.Feed(runtime.sessions(), default_vault(), info, replay_speed) if replay_speed else None
    try:
        server.serve(host, port, worker=worker)
    finally:
        if feed:
            feed.stop()


@app.callback()
def options(debug: bool = typer.Option(False, "--debug", help="on failure, show the traceback (numbers masked)")) -> None:
    from cityline.epidemic import zonemarks
    from cityline.intake.service import use_zone_lookup

    use_zone_lookup(zonemarks.zone_of)  # new orders from a published sealed/controlled zone are marked
    if debug:
        from cityline import logs

        logs.set_debug(True)


def main() -> None:
    from cityline import logs

    logs.install()
    try:
        app()
    except Exception as error:  # a command's own exits (typer.Exit, SystemExit) are not caught
        # Not the traceback: its messages carry the data the command worked on (a failed
        # insert's SQL parameters are an order's text with the caller's numbers).
        logs.report_failure(error)
        raise SystemExit(1) from None
