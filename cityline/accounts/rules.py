"""Who may do what: roles, their permissions, and the reach of a user's unit. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

ROLES = ("operator", "dispatcher", "unit_handler", "supervisor", "analyst", "admin", "commander", "grid_worker",
         "inspector")
ROLE_NAMES = {"operator": "接线员", "dispatcher": "派单员", "unit_handler": "承办单位", "supervisor": "督办",
              "analyst": "分析员", "admin": "管理员", "commander": "防控指挥", "grid_worker": "网格员",
              "inspector": "巡查员"}

# Loop actions grouped by the permission they need.
ACTION_PERMISSION = {
    "dispatch": "orders:dispatch", "redispatch": "orders:dispatch", "merge": "orders:dispatch",
    "cancel": "orders:dispatch",
    "accept": "orders:handle", "return": "orders:handle", "reply": "orders:handle",
    "pause": "orders:handle", "resume": "orders:handle", "extend": "orders:handle",
    "milestone": "orders:handle",
    "grant": "orders:supervise", "refuse": "orders:supervise",
    "visit": "orders:visit", "close": "orders:visit", "reopen": "orders:visit",
    "answer": "orders:answer",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": frozenset({"orders:read", "orders:create", "orders:answer", "orders:visit", "orders:label",
                           "pii:reveal", "units:read"}),
    "dispatcher": frozenset({"orders:read", "orders:dispatch", "orders:label", "pii:reveal", "units:read"}),
    "unit_handler": frozenset({"orders:read", "orders:handle", "pii:reveal", "units:read"}),
    "supervisor": frozenset({"orders:read", "orders:visit", "orders:dispatch", "orders:supervise", "pii:reveal",
                             "units:read",
                             "analytics:read", "knowledge:edit", "knowledge:review"}),
    "analyst": frozenset({"orders:read", "analytics:read", "orders:export", "units:read"}),
    "admin": frozenset({"users:admin", "units:write", "units:read", "catalogue:write", "audit:read", "triage:admin",
                        "orders:read", "knowledge:edit", "knowledge:review", "outbox:admin",
                        "epidemic:import", "epidemic:read"}),
    # Epidemic control (formats §6–§7). Figures (epidemic:read) for those who watch the city;
    # person by person (epidemic:persons, passes, reveal) only for the command and for grid
    # workers, who see the residents of their own grids (epidemic/ledger.py: person_scope).
    "commander": frozenset({"orders:read", "analytics:read", "units:read", "epidemic:import", "epidemic:read",
                            "epidemic:persons", "epidemic:passes", "epidemic:verify", "epidemic:reveal"}),
    "grid_worker": frozenset({"units:read", "epidemic:read", "epidemic:persons", "epidemic:passes",
                              "epidemic:verify", "epidemic:reveal"}),
    # A patrol (视频巡查 or on foot) records findings at sites with photos and checks their
    # rectification (inspection:check: the loop's visit, then close or reopen, on findings
    # only; no return visits of other orders).
    "inspector": frozenset({"inspection:record", "inspection:check", "orders:read", "units:read"}),
}
for _role in ("analyst", "supervisor"):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {"epidemic:read"}
PERMISSIONS["supervisor"] = PERMISSIONS["supervisor"] | {"inspection:check"}  # a supervisor may judge one too
for _role in ("operator", "unit_handler", "supervisor"):  # checking a pass at a gate or on the phone
    PERMISSIONS[_role] = PERMISSIONS[_role] | {"epidemic:verify"}
# Road checkpoints (checkpoints/): the unit's staff and grid workers on duty register vehicles at
# the checkpoints in their reach; the command, supervisors and analysts watch the counts; the
# command and admins set checkpoints up.
for _role in ("unit_handler", "grid_worker", "commander"):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {"checkpoints:register"}
for _role in ("unit_handler", "grid_worker", "commander", "supervisor", "analyst", "admin"):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {"checkpoints:read"}
for _role in ("commander", "admin"):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {"checkpoints:admin"}

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Principal:
    """The signed-in user or API token behind a request."""

    name: str
    roles: frozenset[str]
    unit_id: int | None
    # Unit ids whose orders this principal may see; None = the whole city.
    reach: frozenset[int] | None
    # Places also in reach for area roles: (district, street or None for the whole district).
    places: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)
    kind: str = "user"  # user | token

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset().union(*(PERMISSIONS.get(r, frozenset()) for r in self.roles))

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def sees(self, unit_id: int | None, district: str | None, street: str | None = None) -> bool:
        """Whether an order with this unit and place is inside the principal's reach."""
        if self.reach is None:
            return True
        if unit_id is not None and unit_id in self.reach:
            return True
        return (district, None) in self.places or (district, street) in self.places


def check_roles(roles: list[str]) -> list[str]:
    """The unknown role names among ``roles``."""
    return [r for r in roles if r not in ROLES]


def reach_of(roles: frozenset[str], unit_is_root: bool, subtree: frozenset[int], district: str | None,
             street: str | None):
    """(unit ids, places) a principal sees; (None, ∅) for the whole city.

    Staff of the city centre see everything. Anyone else sees the orders of its
    unit and the units below it; area roles (all but unit handlers) also see
    every order placed in their unit's area (its street, or its whole district
    for a district centre), dispatched or not.
    """
    if unit_is_root:
        return None, frozenset()
    area_role = bool(roles - {"unit_handler"})
    return subtree, frozenset({(district, street)}) if (area_role and district) else frozenset()


def lockout_until(failures: int, now: datetime) -> datetime | None:
    """After MAX_FAILURES failed sign-ins the account waits, doubling with each further failure."""
    if failures < MAX_FAILURES:
        return None
    return now + LOCKOUT * (2 ** min(failures - MAX_FAILURES, 6))
