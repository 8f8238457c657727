"""Who holds a timer or an outbox message: a worker's identity, and when its work may be taken.

A worker has a stable *name* (``serve:8345``, ``sla-worker``) and, per process start, a
unique *identity* ``{name}:{host}:{pid}:{token}``, written into ``claimed_by`` of what it
claims. Its leases are short (30 s) and renewed while it works, so the lease is the
heartbeat: work whose lease ran out belongs to nobody and any worker claims it.

A worker also takes back *at once* the work of a dead predecessor of the same name. The
rule (one machine only, since a pid means nothing elsewhere): a holder is a dead
predecessor when it has the same name and host and

- another pid that no longer runs (a pid reused meanwhile looks alive: we then just wait
  for the lease, which is safe), or
- the same pid but a token this process did not issue to a live worker (a container
  restarted as pid 1 again; or a worker of this process that was retired).

A live worker — of another name, on another host, or alive under the same name — is never
taken from before its lease runs out. Names need not be unique across hosts (every
server's worker is ``serve:{port}``): the host keeps them apart.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass

_live_tokens: set[str] = set()  # tokens of this process's workers that have not retired
_lock = threading.Lock()


@dataclass(frozen=True)
class WorkerIdentity:
    name: str
    host: str
    pid: int
    token: str

    @classmethod
    def new(cls, name: str) -> WorkerIdentity:
        """A fresh identity for a worker of ``name`` starting in this process."""
        identity = cls(name, socket.gethostname(), os.getpid(), secrets.token_hex(4))
        with _lock:
            _live_tokens.add(identity.token)
        return identity

    @classmethod
    def parse(cls, text: str | None) -> WorkerIdentity | None:
        """The identity in a ``claimed_by`` value; None for a bare name (tests, old rows).
        Split from the right: the name may itself contain colons (``serve:8345``)."""
        parts = (text or "").rsplit(":", 3)
        if len(parts) != 4 or not parts[2].isdigit() or not all(parts):
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])

    def __str__(self) -> str:
        return f"{self.name}:{self.host}:{self.pid}:{self.token}"

    @property
    def same_name_prefix(self) -> str:
        """What the ``claimed_by`` of this name on this host starts with (for LIKE)."""
        return f"{self.name}:{self.host}:"

    def retire(self) -> None:
        """This worker has stopped: a successor of its name in this process may take its work."""
        with _lock:
            _live_tokens.discard(self.token)

    def is_dead_predecessor(self, holder: WorkerIdentity) -> bool:
        """May this worker take ``holder``'s work at once (see the module's rule)?"""
        if holder == self or holder.name != self.name or holder.host != self.host:
            return False
        if holder.pid == self.pid:
            with _lock:
                return holder.token not in _live_tokens
        return not pid_alive(holder.pid)


def pid_alive(pid: int) -> bool:
    """Does a process with ``pid`` run on this machine (signal 0 checks without sending)?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def holder_text(worker: str | WorkerIdentity) -> str:
    """What goes into ``claimed_by``."""
    return str(worker)
