"""Gathers what the cluster rules (``clusters.py``) need on a day: the cases reported in the
span the rules look at, their tier-1 and tier-2 contacts (through ``tracing``, whose
``tier1_contacts`` is the one seam to the §7 contact rules) and the cases' own visits.
Reads only; never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityline.epidemic import clusters as rules
from cityline.epidemic import queries, tracing
from cityline.epidemic.models import Case
from cityline.epidemic.rules import CaseRecord, Contact, Params, exposure_window


@dataclass
class Outbreak:
    """The cases of the span up to ``day``, their contacts, clusters and places of exposure."""

    day: date
    cases: list[CaseRecord]
    kinds: dict[str, str]  # case → confirmed | asymptomatic
    contacts: list[Contact]
    clusters: list[rules.Cluster]
    places: list[rules.ExposurePlace]
    cluster_of: dict[str, str] = field(default_factory=dict)
    _by_case: dict[str, list[Contact]] = field(default_factory=dict, repr=False)  # contacts_of's index

    def case(self, person_id: str) -> CaseRecord | None:
        return next((c for c in self.cases if c.person_id == person_id), None)

    def cluster(self, cluster_id: str) -> rules.Cluster | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)

    def contacts_of(self, cases: set[str]) -> list[Contact]:
        if not self._by_case:
            for contact in self.contacts:
                self._by_case.setdefault(contact.case, []).append(contact)
        return [c for case in sorted(cases) for c in self._by_case.get(case, [])]


def latest_report_day(session: Session, params: Params) -> date | None:
    """The local date of the latest case report (the day lists default to)."""
    latest = session.scalar(select(func.max(Case.reported_at)))
    return params.local_date(latest) if latest else None


def outbreak(session: Session, env, day: date) -> Outbreak:
    params = env.params
    first, last = rules.span(day, params)
    rows = session.scalars(select(Case).where(Case.reported_at >= params.day_start(first),
                                              Case.reported_at < params.day_start(last + timedelta(days=1))))
    rows = sorted(rows, key=lambda c: c.person_id)
    cases = [CaseRecord(c.person_id, c.reported_at, c.onset_at, c.sampled_at) for c in rows]
    found = tracing.contacts(session, env, cases) if cases else []
    clustered = rules.clusters(cases, found, day, params)
    return Outbreak(day, cases, {c.person_id: c.kind for c in rows}, found, clustered,
                    rules.exposure_places(cases, _case_visits(env, cases), found, params),
                    rules.cluster_of(clustered))


def _case_visits(env, cases: list[CaseRecord]):
    """The cases' own visits on the local dates their windows touch (one day before, for a
    visit that began the evening before), as ``tracing`` reads them."""
    if not cases:
        return []
    params = env.params
    windows = [exposure_window(c, params) for c in cases]
    first = min(params.local_date(s) for s, _ in windows) - timedelta(days=1)
    last = max(params.local_date(e) for _, e in windows)
    return queries.visits(env.store, first, last, params, persons=[c.person_id for c in cases])
