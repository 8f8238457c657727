"""``cityline webhooks`` and ``cityline outbox`` as an admin runs them: a real process."""

import os
import subprocess
import sys

import pytest

UNITS = """code,name,parent_code,kind,district,street
SH,上海市12345市民服务热线,,centre,,
SH-JA-CJD,曹家渡街道办事处,SH,street_office,静安区,曹家渡街道
"""


@pytest.fixture
def cityline(tmp_path):
    env = {**os.environ, "CITYLINE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("CITYLINE_DATABASE_URL", None)

    def run(*args: str, ok: bool = True) -> str:
        done = subprocess.run([sys.executable, "-m", "cityline", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done.stdout

    return run


def test_an_admin_adds_lists_and_removes_a_webhook(cityline, tmp_path):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    cityline("units", "import", "units.csv")
    added = cityline("webhooks", "add", "SH-JA-CJD", "https://cjd.example/12345")
    assert "webhook 1 for SH-JA-CJD: https://cjd.example/12345" in added
    secret = added.split("secret (shown only now; the receiver checks X-Cityline-Signature with it): ")[1].strip()
    assert len(secret) == 64
    listed = cityline("webhooks", "list")
    assert "https://cjd.example/12345" in listed and secret not in listed
    assert "unknown unit 'NOPE'" in cityline("webhooks", "add", "NOPE", "https://x.example/", ok=False)
    assert "http:// or https://" in cityline("webhooks", "add", "SH-JA-CJD", "file:///etc/passwd", ok=False)
    assert "removed webhook 1" in cityline("webhooks", "remove", "1")
    assert "cjd.example" not in cityline("webhooks", "list")
    assert "cjd.example" in cityline("webhooks", "list", "--all")
    assert "no webhook 1" in cityline("webhooks", "remove", "1", ok=False)
    cityline("outbox", "list", "--state", "all")
    assert "unknown outbox state" in cityline("outbox", "list", "--state", "lost", ok=False)
