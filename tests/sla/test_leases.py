"""Who holds a timer or a message (issue 14): a worker's identity, short leases renewed
while it works, a restarted worker of the same name taking back its dead predecessor's
work at once, a worker that lost its lease doing nothing with it, and one escalation
per missed deadline — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cityline.db import transaction
from cityline.outbox.identity import WorkerIdentity, pid_alive
from cityline.outbox.models import OutboxMessage
from cityline.outbox.senders import MemorySender
from cityline.outbox.service import Message, enqueue
from cityline.outbox.worker import claim, deliver_outbox
from cityline.sla.models import Timer
from cityline.sla.worker import _claim_timers, fire_due_timers, run_once

from .test_worker import HANDLER, count, due_timers

NOW = datetime(2020, 2, 3, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped) on this machine."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(done.stdout)
    assert not pid_alive(pid)
    return pid


def crashed(name: str) -> WorkerIdentity:
    """The identity of a worker of ``name`` on this machine whose process has died."""
    return WorkerIdentity(name, socket.gethostname(), dead_pid(), "dead0000")


def hold_timers(sla_db, holder: WorkerIdentity | str, at: datetime, lease: timedelta = LEASE) -> int:
    """``holder`` claims every due timer and then dies before firing any."""
    with transaction(sla_db.factory) as session:
        return len(_claim_timers(session, at, holder, lease, 1000))


def hold_messages(sla_db, holder: WorkerIdentity | str, at: datetime, lease: timedelta = LEASE) -> int:
    with transaction(sla_db.factory) as session:
        return len(claim(session, at, lease, 1000, holder))


# ---------------------------------------------------------------- identities

def test_an_identity_names_worker_host_process_and_start_and_reads_back():
    me = WorkerIdentity.new("serve:8345")
    try:
        text = str(me)
        assert text.startswith(f"serve:8345:{socket.gethostname()}:{os.getpid()}:")
        assert WorkerIdentity.parse(text) == me
        assert WorkerIdentity.new("serve:8345") != me  # every start is a new identity
        assert WorkerIdentity.parse("w1") is None and WorkerIdentity.parse(None) is None
    finally:
        me.retire()


def test_only_a_dead_predecessor_of_the_same_name_on_this_machine_is_taken_from():
    me = WorkerIdentity.new("serve:8345")
    sibling = WorkerIdentity.new("serve:8345")  # alive in this process
    try:
        here, pid = socket.gethostname(), os.getpid()
        assert me.is_dead_predecessor(crashed("serve:8345"))
        assert me.is_dead_predecessor(WorkerIdentity("serve:8345", here, pid, "0ld0ld00"))  # pid 1 again
        assert not me.is_dead_predecessor(me)
        assert not me.is_dead_predecessor(sibling)
        assert not me.is_dead_predecessor(crashed("sla-worker"))  # another name: wait for its lease
        assert not me.is_dead_predecessor(WorkerIdentity("serve:8345", "elsewhere", dead_pid(), "t"))
        assert not me.is_dead_predecessor(WorkerIdentity("serve:8345", here, os.getppid(), "t"))  # alive
        sibling.retire()
        assert me.is_dead_predecessor(sibling)
    finally:
        me.retire()
        sibling.retire()


# ---------------------------------------------------------------- taking back

def test_a_restarted_worker_of_the_same_name_takes_back_its_predecessors_timers_at_once(sla_db):
    due_timers(sla_db, 5, NOW - timedelta(minutes=1))
    assert hold_timers(sla_db, crashed("serve:8345"), NOW) == 5
    me = WorkerIdentity.new("serve:8345")
    try:
        report = run_once(sla_db.factory, NOW + timedelta(seconds=1), me, HANDLER)
    finally:
        me.retire()
    assert report.fired == 5
    assert count(sla_db, Timer, Timer.state == "fired", Timer.claimed_by == str(me)) == 5


def test_a_worker_of_another_name_retakes_a_dead_workers_timers_only_after_the_short_lease(sla_db):
    due_timers(sla_db, 5, NOW - timedelta(minutes=1))
    hold_timers(sla_db, crashed("serve:8345"), NOW)
    other = WorkerIdentity.new("sla-worker")
    try:
        assert run_once(sla_db.factory, NOW + LEASE - timedelta(seconds=1), other, HANDLER).fired == 0
        assert run_once(sla_db.factory, NOW + LEASE, other, HANDLER).fired == 5
    finally:
        other.retire()


def test_the_work_of_a_live_worker_of_the_same_name_is_not_taken(sla_db):
    due_timers(sla_db, 3, NOW - timedelta(minutes=1))
    alive = WorkerIdentity("serve:8345", socket.gethostname(), os.getppid(), "a11ve000")
    hold_timers(sla_db, alive, NOW)
    with transaction(sla_db.factory) as session:
        enqueue(session, Message("sla.notice", "SH-WJW", 1, {}), now=NOW)
    hold_messages(sla_db, alive, NOW)
    me = WorkerIdentity.new("serve:8345")
    try:
        sender = MemorySender()
        report = run_once(sla_db.factory, NOW + timedelta(seconds=1), me, HANDLER, sender)
    finally:
        me.retire()
    assert (report.fired, report.sent) == (0, 0)
    assert count(sla_db, Timer, Timer.claimed_by == str(alive)) == 3


def test_a_restarted_worker_delivers_the_messages_its_predecessor_held_at_once(sla_db):
    with transaction(sla_db.factory) as session:
        for order_id in (1, 2, 3):
            enqueue(session, Message("sla.notice", "SH-WJW", order_id, {}), now=NOW)
    assert hold_messages(sla_db, crashed("sla-worker"), NOW) == 3
    sender = MemorySender()
    stranger = WorkerIdentity.new("serve:8345")
    me = WorkerIdentity.new("sla-worker")
    try:
        assert run_once(sla_db.factory, NOW + timedelta(seconds=1), stranger, HANDLER, sender).sent == 0
        assert run_once(sla_db.factory, NOW + timedelta(seconds=1), me, HANDLER, sender).sent == 3
    finally:
        me.retire()
        stranger.retire()
    assert sorted(item.order_id for item in sender.delivered) == [1, 2, 3]


# ---------------------------------------------------------------- a lost lease

def test_a_worker_that_lost_its_lease_on_a_timer_does_not_fire_it(sla_db):
    due_timers(sla_db, 1, NOW - timedelta(minutes=1))

    def stuck_past_its_lease(timer):  # meanwhile B claims the timer (and is still handling it)
        assert hold_timers(sla_db, "B", NOW + LEASE + timedelta(seconds=1)) == 1
        return HANDLER(timer)

    a = fire_due_timers(sla_db.factory, NOW, "A", stuck_past_its_lease, lease=LEASE)
    assert (a.fired, a.not_fired) == (0, 1)
    assert count(sla_db, OutboxMessage) == 0
    with sla_db.factory() as session:
        timer = session.scalars(select(Timer)).one()
    assert (timer.state, timer.claimed_by) == ("pending", "B")


def test_a_worker_that_lost_its_lease_on_a_message_does_not_deliver_it(sla_db):
    with transaction(sla_db.factory) as session:
        for order_id in (1, 2, 3):
            enqueue(session, Message("sla.notice", "SH-WJW", order_id, {}), now=NOW)
    b_sender = MemorySender()
    a_sent: list[int] = []

    def slow(item):  # A's first send takes past the batch's lease; B delivers the rest
        if not a_sent:
            report = deliver_outbox(sla_db.factory, NOW + LEASE + timedelta(seconds=1), b_sender,
                                    lease=LEASE, worker="B")
            assert report.sent == 2
        a_sent.append(item.order_id)

    # A reaches its first message 5 s in and renews that one's lease as it sends it (too
    # soon for the batch-wide heartbeat, every lease/3), so only the two it had not
    # reached yet lapse at 30 s — and B takes them.
    a = deliver_outbox(sla_db.factory, NOW, slow, lease=LEASE, worker="A",
                       clock=lambda: NOW + timedelta(seconds=5))
    delivered = a_sent + [item.order_id for item in b_sender.delivered]
    assert sorted(delivered) == [1, 2, 3]  # each once: A does not repeat what B sent
    assert (a.sent, a.lost) == (1, 2)
    assert count(sla_db, OutboxMessage, OutboxMessage.state == "sent") == 3


def test_the_heartbeat_keeps_a_slow_batch_of_messages(sla_db):
    with transaction(sla_db.factory) as session:
        for order_id in (1, 2, 3):
            enqueue(session, Message("sla.notice", "SH-WJW", order_id, {}), now=NOW)
    clock = [NOW]
    seen = []

    def slow(item):  # each send takes 15 s; then another worker looks: the rest is still A's
        clock[0] += timedelta(seconds=15)
        seen.append(deliver_outbox(sla_db.factory, clock[0], MemorySender(), lease=LEASE,
                                   worker="B").sent)

    a = deliver_outbox(sla_db.factory, NOW, slow, lease=LEASE, worker="A", clock=lambda: clock[0])
    assert (a.sent, a.lost, seen) == (3, 0, [0, 0, 0])


def test_the_heartbeat_keeps_a_slow_batch_of_timers(sla_db):
    due_timers(sla_db, 3, NOW - timedelta(minutes=1))
    clock = [NOW]
    seen = []

    def slow(timer):  # each call takes 15 s; then another worker looks: the batch is still A's
        clock[0] += timedelta(seconds=15)
        seen.append(fire_due_timers(sla_db.factory, clock[0], "B", HANDLER, lease=LEASE).fired)
        return HANDLER(timer)

    # Without renewals the 30 s lease would lapse during the second call (at 30 s).
    a = fire_due_timers(sla_db.factory, NOW, "A", slow, lease=LEASE, clock=lambda: clock[0])
    assert (a.fired, seen) == (3, [0, 0, 0])
