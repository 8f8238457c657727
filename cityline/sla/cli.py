"""``cityline sla``: check a policy file, compute deadlines, run the timer worker."""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from cityline.sla.policy import PolicyError, load_policies

app = typer.Typer(help="Deadlines (SLA): policies, deadlines, the reminder worker.", no_args_is_help=True)
out = Console()
PolicyFile = Annotated[Path | None, typer.Option("--policies", help="policy file (default: shipped)")]


def _policies(path: Path | None):
    try:
        return load_policies(path)
    except PolicyError as exc:
        out.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc


@app.command()
def policies(policies: PolicyFile = None) -> None:
    """Check a policy file and list its policies."""
    loaded = _policies(policies)
    for p in loaded.policies:
        when = ", ".join(filter(None, [
            "categories " + " ".join(sorted(p.categories)) if p.categories else "",
            f"life_safety={str(p.life_safety).lower()}" if p.life_safety is not None else "",
        ]))
        out.print(f"[bold]{p.name}[/bold]  {p.zh or p.en}", highlight=False)
        out.print(f"  urgency {p.urgency}{'  when ' + when if when else ''}; accept {p.accept_within}, "
                  f"respond {p.respond_within}, resolve {p.resolve_within}; {p.calendar}, "
                  f"warn at {p.warn_share:.0%}", highlight=False)
    out.print(f"{loaded.source}: OK; emergency mode {'on' if loaded.emergency else 'off'}")


@app.command()
def deadlines(
    urgency: Annotated[str, typer.Option(help="urgent, sub_urgent or normal")],
    received: Annotated[str, typer.Option(help="ISO time; without an offset: local time")],
    category: str | None = None,
    groups: Annotated[list[str] | None, typer.Option("--group", help="special group code")] = None,
    dispatched: str | None = None,
    emergency: Annotated[bool | None, typer.Option("--emergency/--no-emergency")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    policies: PolicyFile = None,
) -> None:
    """Which policy applies to an order and when its deadlines fall."""
    from cityline.sla.rules import deadlines_for

    loaded = _policies(policies)
    zone = ZoneInfo(loaded.calendar.timezone)

    def parse(text: str) -> datetime:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    try:
        policy = loaded.policy_for(urgency, category, groups or (), emergency=emergency)
    except PolicyError as exc:
        out.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    result = deadlines_for(policy, parse(received), loaded.calendar,
                           dispatched_at=parse(dispatched) if dispatched else None)
    shown = {k: v.astimezone(zone).isoformat() if v else None for k, v in vars(result).items()}
    if as_json:
        typer.echo(json.dumps({"policy": policy.name, "calendar": policy.calendar, **shown}))
        return
    out.print(f"policy [bold]{policy.name}[/bold] ({policy.zh or policy.en}), calendar {policy.calendar}")
    for key, value in shown.items():
        out.print(f"  {key:<10} {value or '-'}")


@app.command()
def worker(
    interval: Annotated[float, typer.Option(help="seconds between passes")] = 5.0,
    log_file: Annotated[Path | None, typer.Option(help="deliver notices by appending JSON lines here "
                                                       "(default: stdout)")] = None,
    worker_id: Annotated[str, typer.Option(
        help="the worker's name; a restart under the same name on this machine takes back at "
             "once what the dead one held (its identity adds host, pid and a random token)")] = "sla-worker",
    once: Annotated[bool, typer.Option(help="one pass, then exit (for cron)")] = False,
) -> None:
    """Fire due SLA reminders into the outbox and deliver the outbox (notices as JSON lines,
    webhooks by HTTP) until stopped."""
    from cityline import runtime
    from cityline.config import get_settings
    from cityline.db import utcnow
    from cityline.outbox.identity import WorkerIdentity
    from cityline.outbox.senders import standard
    from cityline.privacy import default_vault
    from cityline.sla.messages import reminder_handler
    from cityline.sla.worker import run_forever, run_once

    name = WorkerIdentity.new(worker_id)
    handler = reminder_handler(get_settings().timezone)
    sender = standard(runtime.sessions(), log_file, default_vault())
    if once:
        report = run_once(runtime.sessions(), utcnow(), name, handler, sender)
        out.print(f"fired {report.fired}, messages {report.messages}, sent {report.sent}, "
                  f"errors {report.handler_errors + report.send_errors}", highlight=False)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out.print(f"worker {name}: every {interval:g} s; Ctrl-C stops it", highlight=False)
    run_forever(runtime.sessions(), name, handler, sender, stop, interval=interval)
