"""The docs stay true: every file docs/ARCHITECTURE.md names exists, and every setting is in
the README's settings table."""

from __future__ import annotations

import re
from pathlib import Path

from cityline.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cityline"
FILE = re.compile(r"`([\w./-]+\.(?:py|toml|csv|md|html|json))`")


def _exists(name: str, package: Path | None) -> bool:
    if "/" in name:
        return (PACKAGE / name).exists() or (ROOT / name).exists()
    if package is not None:
        return (package / name).exists()
    return any(PACKAGE.rglob(name)) or any((ROOT / "tests").rglob(name)) or (ROOT / name).exists()


def test_every_file_the_architecture_page_names_exists():
    missing = []
    for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        # A table row about a package (`| `orders/` | …`) names files inside that package.
        row = re.match(r"\|\s*`(\w+)/`\s*\|", line)
        package = PACKAGE / row.group(1) if row else None
        missing += [name for name in FILE.findall(line) if not _exists(name, package)]
    assert not missing, f"docs/ARCHITECTURE.md names files that do not exist: {sorted(set(missing))}"


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [f"CITYLINE_{name.upper()}" for name in Settings.model_fields
                    if f"`CITYLINE_{name.upper()}`" not in readme]
    assert not undocumented, f"settings missing from the README's settings table: {undocumented}"
