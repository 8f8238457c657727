"""The ``cityline`` command as a user runs it: a real process on an embedded database."""

import json
import os
import subprocess
import sys

import pytest

UNITS = """code,name,parent_code,kind,district,street
SH,上海市12345市民服务热线,,centre,,
SH-JA,静安区城运中心,SH,centre,静安区,
SH-JA-CJD,曹家渡街道办事处,SH-JA,street_office,静安区,曹家渡街道
BAD,,NOPE,centre,,
"""


@pytest.fixture
def cityline(tmp_path):
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("CITYLINE_DATABASE_URL", None)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cityline", *args], env={**os.environ, **env}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done

    return run


def test_units_orders_and_the_loop_from_the_command_line(cityline, tmp_path):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    done = cityline("units", "import", "units.csv", ok=False)
    assert "imported 3 units, bad 1" in done.stdout and "row 5" in done.stdout and "NOPE" in done.stdout

    created = json.loads(cityline("orders", "create", "--text", "楼上漏水到我家天花板了", "--kind", "complaint",
                                  "--category", "GEN.HOUSING", "--urgency", "normal", "--phone", "13800009999",
                                  "--json").stdout)
    number = created["number"]
    assert created["caller_phone"] == "138****9999"

    refused = cityline("orders", "move", number, "reply", "--text", "x", ok=False)
    assert "cannot reply an order that is received" in refused.stdout
    cityline("orders", "move", number, "dispatch", "--unit", "SH-JA-CJD")
    missing = cityline("orders", "move", number, "return", ok=False)
    assert "reason" in missing.stdout
    shown = json.loads(cityline("orders", "show", number, "--json").stdout)
    assert shown["status"] == "dispatched" and [e["action"] for e in shown["events"]] == ["received", "dispatch"]
    assert "13800009999" not in json.dumps(shown)
    listed = json.loads(cityline("orders", "list", "--status", "dispatched", "--json").stdout)
    assert listed["total"] == 1


def test_import_reports_bad_rows_and_exit_code(cityline, tmp_path):
    (tmp_path / "orders.csv").write_text(
        "external_id,received_at,text,category\n"
        "A-1,2020-01-28T09:00:00,药店排队买口罩,EPI.MASK\n"
        "A-2,not-a-date,口罩,EPI.MASK\n", encoding="utf-8")
    done = cityline("orders", "import", "orders.csv", "--json", "--workers", "2", ok=False)  # triage in a worker
    report = json.loads(done.stdout)
    assert (report["imported"], report["bad"]) == (1, 1)
    assert report["bad_rows"][0]["row"] == 3 and "not-a-date" in report["bad_rows"][0]["reason"]
    again = json.loads(cityline("orders", "import", "orders.csv", "--json", ok=False).stdout)
    assert (again["imported"], again["already_present"]) == (0, 1)
    missing = cityline("orders", "import", "nothing.csv", ok=False)
    assert "nothing.csv" in missing.stdout + missing.stderr


def test_first_admin_and_tokens_from_the_command_line(cityline, tmp_path, monkeypatch):
    monkeypatch.setenv("CITYLINE_NEW_PASSWORD", "a long admin password")
    assert "created user admin (admin)" in cityline("users", "create", "admin", "--role", "admin").stdout
    assert "already exists" in cityline("users", "create", "admin", "--role", "admin", ok=False).stdout
    assert "unknown role" in cityline("users", "create", "bob", "--role", "mayor", ok=False).stdout
    created = cityline("tokens", "create", "gateway", "--role", "operator").stdout
    assert "cl_" in created and "cannot be shown again" in created
    assert "revoked token 1" in cityline("tokens", "revoke", "1").stdout
    assert "admin" in cityline("users", "list").stdout
