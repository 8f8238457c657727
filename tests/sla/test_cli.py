"""``cityline sla`` commands that need no database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cityline.sla.cli import app

runner = CliRunner()


def test_deadlines_for_an_order_as_json():
    result = runner.invoke(app, ["deadlines", "--urgency", "sub_urgent", "--received", "2020-01-23 15:30",
                                 "--dispatched", "2020-01-23 15:40", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["policy"] == "sub_urgent"
    assert shown["resolve_by"] == "2020-02-03T17:00:00+08:00"  # two working days over the holiday
    assert shown["accept_by"] == "2020-01-23T16:10:00+08:00"


def test_emergency_switch_on_the_command_line():
    result = runner.invoke(app, ["deadlines", "--urgency", "normal", "--received", "2020-01-26 11:00",
                                 "--emergency", "--json"])
    assert json.loads(result.output)["resolve_by"] == "2020-01-31T11:00:00+08:00"


def test_policies_lists_the_file_and_reports_errors(tmp_path):
    assert "urgent_life_safety" in runner.invoke(app, ["policies"]).output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[policy]]\nname = "n"\nurgency = "normal"\naccept_within = "30m"\n'
                   'respond_within = "1wd"\nresolve_within = "5 days"\n', encoding="utf-8")
    result = runner.invoke(app, ["policies", "--policies", str(bad)])
    assert result.exit_code == 1
    assert "[[policy]] #1 ('n') key 'resolve_within'" in " ".join(result.output.split())
