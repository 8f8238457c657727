"""The demo's field work: test sites patrolled by video and on foot, and road checkpoints.

Small and deterministic — enough that the inspection pages and the checkpoint pages of a fresh
demo show work at every stage rather than empty tables:

* test sites (核酸采样点) of the demo handler's street office and its neighbours, with findings of
  the last hours: some put right with a photo and closed by the inspector, some accepted and
  waiting for the rectification (the 30-minute deadline running or missed), some not yet accepted;
* two road checkpoints (卡口) of the handler's district with the last two and a half days'
  vehicles: most from places without risk, some from the risk areas of the 2022 wave (a closed
  loop each: leave within 48 h), some of those gone, one overdue — its warning order opened by
  the overdue check as the server's watch would — a passenger with no recent negative test
  flagged, a red code turned back.

Everything goes through the services a user's request goes through (``inspection.service``,
``checkpoints.service``, and so ``intake``). The photos are drawn here (a plain picture of the
site's state), not taken from anywhere. Names and phone numbers are made up.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.models import Unit
from cityline.db import transaction
from cityline.privacy import Vault
from cityline.timeutil import to_local

INSPECTOR = "inspector"  # the demo's inspector (cityline.demo.ROLE_USERS)
SITES_PER_STREET = 2
FINDINGS = 9
SAFE_ORIGINS = ("江苏省苏州市", "浙江省嘉兴市", "安徽省合肥市", "江苏省南通市", "浙江省杭州市")
SURNAMES = "王李张刘陈杨赵黄周吴"
# How long the vehicles from risk areas stay, in turn: not registered as gone (the first one
# overdue by now), gone within the 48 hours, gone late.
STAYS = (None, timedelta(hours=30), timedelta(hours=53))


def photo(colour: tuple[int, int, int], seed: int) -> bytes:
    """A small PNG: a site's queue as coloured marks (red: crowded; green: one metre apart)."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (320, 200), (236, 239, 241))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 150, 320, 200), fill=(189, 189, 189))
    rng = random.Random(seed)
    for n in range(8):
        x = 20 + n * (34 if colour[1] > colour[0] else 18) + rng.randint(0, 6)
        draw.ellipse((x, 100, x + 14, 114), fill=colour)
        draw.rectangle((x + 2, 114, x + 12, 150), fill=colour)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


CROWDED, PUT_RIGHT = (198, 40, 40), (46, 125, 50)


def seed_field_work(factory: sessionmaker[Session], vault: Vault, handler_unit: str, now: datetime,
                    seed: int = 1) -> dict[str, int]:
    """Sites, findings, checkpoints and vehicles as described above; returns what was made
    (``orders``: the work orders they opened)."""
    rng = random.Random(seed)
    made = _inspection(factory, vault, handler_unit, now, rng)
    made.update(_checkpoints(factory, vault, handler_unit, now, rng))
    made["orders"] = made["findings"] + made["loops"] + made["warnings"]
    return made


def _streets(session: Session, handler_unit: str) -> list[Unit]:
    """The handler's street office first, then the other street offices of its district."""
    own = session.scalars(select(Unit).where(Unit.code == handler_unit)).one()
    others = session.scalars(select(Unit).where(Unit.parent_id == own.parent_id, Unit.id != own.id,
                                                Unit.kind == own.kind, Unit.active).order_by(Unit.code)).all()
    return [own, *others[:2]]


def _inspection(factory: sessionmaker[Session], vault: Vault, handler_unit: str, now: datetime,
                rng: random.Random) -> dict[str, int]:
    from cityline.inspection.rules import load_problems
    from cityline.inspection.service import (
        NewFinding,
        Upload,
        check_rectification,
        record_finding,
        reply_with_photos,
        store_for,
        upsert_site,
    )
    from cityline.orders.service import move_order

    store = store_for()
    problems = sorted(load_problems())
    with transaction(factory) as session:
        sites = []
        for street in _streets(session, handler_unit):
            for n in range(1, SITES_PER_STREET + 1):
                sites.append(upsert_site(session, {
                    "code": f"TS-{street.code}-{n:02d}", "name": f"{street.street or street.name}核酸采样点{n}号",
                    "kind": "test_site", "unit": street.code, "district": street.district,
                    "street": street.street, "address": f"{street.district or ''}{street.street or ''}采样点{n}号"}).code)
    for n in range(FINDINGS):
        found = now - timedelta(minutes=20 + 47 * n)
        stage = n % 3  # 0: put right and closed, 1: accepted and waiting for the rectification, 2: not yet accepted
        with store.keeping() as written, transaction(factory) as session:
            finding = NewFinding(site=sites[n % len(sites)], problem=problems[n % len(problems)],
                                 method="video" if n % 2 == 0 else "foot", note=None)
            order = record_finding(session, store, written, finding, [Upload(f"finding-{n}.png", photo(CROWDED, n))],
                                   actor=INSPECTOR, now=found, vault=vault)
            if stage == 2:
                continue
            handler = "demo"  # the site's unit
            move_order(session, order.number, "accept", {}, actor=handler, now=found + timedelta(minutes=6))
            if stage == 0:
                done = found + timedelta(minutes=rng.choice((18, 24, 41)))  # now and then late
                reply_with_photos(session, store, written, order.number, "已增设一米线并安排专人疏导，现场秩序已恢复。",
                                  [Upload(f"rectified-{n}.png", photo(PUT_RIGHT, n))], actor=handler, now=done,
                                  reach=None)
                check_rectification(session, order.number, True, "视频复核：已整改到位。", actor=INSPECTOR,
                                    now=done + timedelta(minutes=9), reach=None)
    return {"sites": len(sites), "findings": FINDINGS}


def _checkpoints(factory: sessionmaker[Session], vault: Vault, handler_unit: str, now: datetime,
                 rng: random.Random) -> dict[str, int]:
    from cityline.checkpoints.schemas import CheckpointBody, PersonBody, RegistrationBody
    from cityline.checkpoints.service import check_overdue, env_for, register, save_checkpoint
    from cityline.epidemic.service import risk_windows

    env = env_for(vault)
    with transaction(factory) as session:
        own = session.scalars(select(Unit).where(Unit.code == handler_unit)).one()
        district = session.get(Unit, own.parent_id) if own.parent_id else own
        assert district is not None
        codes = []
        for n, (road, street) in enumerate((("G60沪昆高速入城", own), ("S32申嘉湖高速入城", own)), start=1):
            checkpoint = save_checkpoint(session, CheckpointBody(
                code=f"KK-{district.code}-{n:02d}", name=f"{district.district or district.name}{road}卡口",
                unit=district.code, district=district.district, street=street.street))
            codes.append(checkpoint.code)
        first = to_local(now - timedelta(hours=60)).date()
        risky = sorted({w.area for w in risk_windows(session) if not w.area.startswith("上海")  # from elsewhere
                        and w.since <= first and (w.until is None or w.until >= to_local(now).date())})
    vehicles = loops = flagged = 0
    for n in range(24):
        at = now - timedelta(hours=60) + timedelta(minutes=150 * n + rng.randint(0, 40))
        from_risk = bool(risky) and n % 4 == 1
        tested = at - timedelta(hours=rng.choice((6, 20, 30, 40)))
        people = [PersonBody(role="driver", name=rng.choice(SURNAMES) + "师傅", phone=f"1390000{n:04d}",
                             health_code="green", tested_at=tested)]
        if n % 5 == 2:  # a passenger whose last negative test is three days old: flagged at once
            people.append(PersonBody(role="passenger", name=rng.choice(SURNAMES) + "某", phone=f"1390001{n:04d}",
                                     health_code="yellow", tested_at=at - timedelta(days=3)))
        if n == 7:  # a red code: turned back
            people[0] = people[0].model_copy(update={"health_code": "red"})
        body = RegistrationBody(checkpoint=codes[n % 2], plate=f"苏E{rng.randint(10000, 99999)}",
                                registered_at=at, origin=risky[n % len(risky)] if from_risk else SAFE_ORIGINS[n % 5],
                                destination="上海市" + (district.district or ""), cargo="生活物资" if n % 3 else "冷链食品",
                                people=people)
        with transaction(factory) as session:
            done = register(session, env, body, actor="commander", now=at)
            vehicles += 1
            flagged += sum(bool(p.flags) for p in done.people)
            if done.registration.must_leave_by is None:
                continue
            loops += 1
            stay = STAYS[(loops - 1) % len(STAYS)]
            if stay is not None and at + stay < now:
                register(session, env, body.model_copy(update={"direction": "left", "registered_at": at + stay,
                                                               "people": []}),
                         actor="commander", now=at + stay)
    with transaction(factory) as session:
        warnings = len(check_overdue(session, env, actor="demo", now=now))
    return {"checkpoints": len(codes), "vehicles": vehicles, "flagged": flagged, "loops": loops, "warnings": warnings}
