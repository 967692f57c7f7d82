"""The built site is self-contained (no remote scripts, styles or fonts) and has its pages."""

from __future__ import annotations

import re
from pathlib import Path

REMOTE_ASSET = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]+\"", re.IGNORECASE
)
PAGES = [
    "index.html",
    "haiku/getting-started.html",
    "haiku/migrating.html",
    "sharding.html",
    "rlax/getting-started.html",
    "rlax/migrating.html",
    "rlax/batched.html",
    "benchmarks.html",
    "api/haiku/index.html",
    "api/rlax/index.html",
]


def test_pages_exist(html_dir: Path) -> None:
    missing = [p for p in PAGES if not (html_dir / p).is_file()]
    assert not missing, f"pages not built: {missing}"


def test_no_remote_assets(html_dir: Path) -> None:
    offenders = []
    for page in sorted(html_dir.rglob("*.html")):
        for match in REMOTE_ASSET.finditer(page.read_text(encoding="utf-8")):
            if 'rel="canonical"' not in match.group(0):
                offenders.append(f"{page.relative_to(html_dir)}: {match.group(0)[:120]}")
    assert not offenders, "remote assets in the built site:\n" + "\n".join(offenders[:20])


def test_migration_guides_include_the_differences(html_dir: Path) -> None:
    haiku = (html_dir / "haiku" / "migrating.html").read_text(encoding="utf-8")
    rlax = (html_dir / "rlax" / "migrating.html").read_text(encoding="utf-8")
    assert "BatchNorm" in haiku and "signed_parabolic" not in haiku
    assert "signed_parabolic" in rlax and "hk.GroupNorm" not in rlax
