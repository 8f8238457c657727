"""A scenario replayed now: its peak this week, stopped at now, weekdays kept."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta

from cityline.sim import generate
from cityline.sim.timeshift import Replay, peak_day, replay_at_peak, shift_epidemic_files
from cityline.timeutil import to_local

NOW = datetime(2026, 12, 9, 2, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Shanghai


def test_the_peak_lands_on_its_own_weekday_in_the_week_around_now():
    for now in (NOW, NOW + timedelta(days=3), NOW - timedelta(days=3), NOW + timedelta(days=200)):
        replay = replay_at_peak("2020", now)
        assert peak_day("2020") == date(2020, 2, 14)
        moved_peak = replay.real_day(peak_day("2020"))
        assert moved_peak.weekday() == peak_day("2020").weekday()  # whole weeks
        assert abs((moved_peak - to_local(now).date()).days) <= 3
        # The scenario's moment is now: the same clock time, on the day of the scenario now stands for.
        assert replay.scenario_now + replay.shift == to_local(now).replace(tzinfo=None, microsecond=0)
        assert replay.scenario_now.weekday() == to_local(now).weekday()


def test_generated_orders_stop_at_now_on_the_real_calendar_with_their_weekdays():
    replay = replay_at_peak("2020", NOW)
    scenario_day = replay.scenario_now.date()
    rows = list(generate("2020", scale=0.05, seed=2, start=scenario_day - timedelta(days=1), end=scenario_day,
                         until=replay.scenario_now, shift_weeks=replay.weeks))
    plain = list(generate("2020", scale=0.05, seed=2, start=scenario_day - timedelta(days=1), end=scenario_day))
    received = [datetime.fromisoformat(r["received_at"]) for r in rows]
    assert rows and max(received) <= NOW and NOW - max(received) < timedelta(minutes=30)
    assert {r.date() for r in received} == {to_local(NOW).date() - timedelta(days=1), to_local(NOW).date()}
    for row, before in zip(rows, plain, strict=False):  # the same calls, a whole number of weeks later
        assert row["text"] == before["text"]
        moved, original = datetime.fromisoformat(row["received_at"]), datetime.fromisoformat(before["received_at"])
        assert moved - original == replay.shift and moved.weekday() == original.weekday()
        assert row["external_id"].endswith(before["external_id"][-6:])
    # Nothing after now has happened: later replies and closings are not there yet.
    for row in rows:
        for column in ("dispatched_at", "replied_at", "closed_at"):
            assert row[column] is None or datetime.fromisoformat(row[column]) <= NOW
    open_now = [r for r in rows if r["dispatched_at"] and not r["closed_at"]]
    assert len(open_now) > 0.1 * len(rows)  # the afternoon's orders are still being worked on
    assert len(plain) > len(rows)  # the rest of the day is still to come


def test_epidemic_files_move_to_the_real_calendar_and_stop_at_now(tmp_path):
    replay = Replay("2022", 243, NOW)
    tests = tmp_path / "tests.csv"
    tests.write_text('"person_id","sampled_at","result","kind","site"\n'
                     'R1,2022-04-12T09:00:00+08:00,negative,pcr,A\n'
                     'R2,2022-04-13T10:29:00+08:00,pending,pcr,A\n'
                     'R3,2022-04-13T10:31:00+08:00,pending,pcr,A\n', encoding="utf-8")
    scans = tmp_path / "scans.csv"
    scans.write_text("person_id,venue_code,scanned_at,left_at\n"
                     "R1,V1,2022-04-13T08:00:00+08:00,2022-04-13T12:00:00+08:00\n", encoding="utf-8")
    areas = tmp_path / "risk_areas.csv"
    areas.write_text("area,level,from,to\nX,high,2022-04-01,\nY,high,2022-04-20,2022-04-30\n", encoding="utf-8")
    shifted = shift_epidemic_files({"tests": (tests, 3), "scans": (scans, 1), "risk-areas": (areas, 2)}, replay)
    assert {kind: rows for kind, (_, rows) in shifted.items()} == {"tests": 2, "scans": 1, "risk-areas": 1}
    rows = list(csv.DictReader(tests.open(encoding="utf-8")))
    assert [r["sampled_at"] for r in rows] == ["2026-12-08T09:00:00+08:00", "2026-12-09T10:29:00+08:00"]
    assert date.fromisoformat(rows[0]["sampled_at"][:10]).weekday() == date(2022, 4, 12).weekday()
    scan = next(csv.DictReader(scans.open(encoding="utf-8")))
    assert scan["scanned_at"] == "2026-12-09T08:00:00+08:00" and scan["left_at"] == ""  # not left yet
    assert [r["from"] for r in csv.DictReader(areas.open(encoding="utf-8"))] == ["2026-11-27"]
