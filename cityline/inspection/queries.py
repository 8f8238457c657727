"""Reads for the console's board: findings counted by site and by unit, with on-time rates.

A finding is *on time* when the unit replied (with its rectification photo) by the order's
resolution deadline (the ``inspection`` SLA policy: 30 minutes), *late* when it replied
after it or has not replied and the deadline has passed. The rate is on time / (on time +
late): findings still within their time count in neither. After a reopen the order's
current cycle is the one counted (the loop's columns hold it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from cityline.accounts.models import Unit
from cityline.inspection.models import Finding, Site
from cityline.orders.models import Order
from cityline.orders.queries import OrderFilter, filtered
from cityline.orders.rules import OPEN


@dataclass(frozen=True)
class Tally:
    code: str | None
    name: str | None
    findings: int
    open: int
    on_time: int
    late: int

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None


def _measures(now: datetime):
    is_open = Order.status.in_(sorted(OPEN))
    on_time = and_(Order.replied_at.is_not(None), Order.resolve_by.is_not(None), Order.replied_at <= Order.resolve_by)
    late = or_(and_(Order.replied_at.is_not(None), Order.replied_at > Order.resolve_by),
               and_(Order.replied_at.is_(None), is_open, Order.resolve_by < now))
    return (func.count(Order.id), func.sum(case((is_open, 1), else_=0)),
            func.sum(case((on_time, 1), else_=0)), func.sum(case((late, 1), else_=0)))


def _tallies(session: Session, key, name, query) -> list[Tally]:
    rows = session.execute(query.group_by(key, name).order_by(key)).all()
    return [Tally(code, label, int(n or 0), int(o or 0), int(t or 0), int(x or 0)) for code, label, n, o, t, x in rows]


def by_site(session: Session, reach: OrderFilter, now: datetime) -> list[Tally]:
    """Findings per site within ``reach`` (the viewer's, as for every read of orders)."""
    query = (select(Site.code, Site.name, *_measures(now)).select_from(Finding)
             .join(Site, Site.id == Finding.site_id).join(Order, Order.id == Finding.order_id))
    return _tallies(session, Site.code, Site.name, filtered(query, reach))


def by_unit(session: Session, reach: OrderFilter, now: datetime) -> list[Tally]:
    """Findings per unit holding them (None: not dispatched yet) within ``reach``."""
    query = (select(Unit.code, Unit.name, *_measures(now)).select_from(Finding)
             .join(Order, Order.id == Finding.order_id).outerjoin(Unit, Unit.id == Order.unit_id))
    return _tallies(session, Unit.code, Unit.name, filtered(query, reach))


def recent(session: Session, reach: OrderFilter, limit: int = 50) -> list[tuple[Order, Finding, Site, str | None]]:
    """The latest findings within ``reach``, newest first, with the code of the unit holding each."""
    query = (select(Order, Finding, Site, Unit.code).select_from(Finding).join(Order, Order.id == Finding.order_id)
             .join(Site, Site.id == Finding.site_id).outerjoin(Unit, Unit.id == Order.unit_id))
    rows = session.execute(filtered(query, reach).order_by(Order.received_at.desc()).limit(limit))
    return [(order, finding, site, unit) for order, finding, site, unit in rows]
