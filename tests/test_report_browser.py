"""The screening report in a real browser (issues 15, 16): Debian's headless `chromium` (installed by
.ci/run) renders the page of a realistic Telegram run, in English and in Chinese (`--lang`); the numbers in
the DOM it built equal `screening-bot log --json` for the same database, and screenshots at phone and
desktop width are written to $TMPDIR for a person to look at (their paths are printed). Never skipped:
without chromium the test fails and says how to install it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from report_fixtures import Page, flatten, report_run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SCREENING_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") if not os.path.exists(CHROMIUM) else CHROMIUM
    assert exe, ("Debian's chromium is not installed: apt-get install -y --no-install-recommends chromium "
                 "(.ci/run does)")
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_in_chromium_shows_the_numbers_of_log_json(tmp_path, capsys, lang):
    asyncio.run(report_run(tmp_path))
    db, page_path = tmp_path / "screening.db", tmp_path / "report.html"
    made = cli("report", "--db", str(db), "--html", str(page_path), "--lang", lang, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    logged = cli("log", "--db", str(db), "--json", cwd=tmp_path)
    assert logged.returncode == 0, logged.stderr
    numbers = json.loads(logged.stdout)

    dom = chromium("--virtual-time-budget=2000", "--dump-dom", page_path.as_uri(), profile=tmp_path / "profile")
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    page = Page(dom.stdout)
    assert page.numbers() == flatten(numbers), "the DOM chromium built holds every number of log --json"
    assert page.head == numbers["head"]
    for key in ("started", "cancelled", "completed", "sent"):
        assert int(page.totals[key]) == numbers[key], key
    assert sum(numbers["by_outcome"].values()) == numbers["completed"] > 0
    assert ("<h1>筛查报告</h1>" if lang == "zh" else "<h1>Screening report</h1>") in dom.stdout

    stamp = f"{os.getpid()}"
    shots = []
    for name, (width, height) in SIZES.items():
        shot = Path(tempfile.gettempdir()) / f"screening-report-{lang}-{name}-{width}x{height}-{stamp}.png"
        shot.unlink(missing_ok=True)
        taken = chromium(f"--window-size={width},{height}", f"--screenshot={shot}", page_path.as_uri(),
                         profile=tmp_path / f"profile-{name}")
        assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
        assert png_size(shot) == (width, height)
        assert shot.stat().st_size > 10_000, "a page, not a blank screen"
        shots.append(shot)
    with capsys.disabled():
        print("\nscreening report screenshots:", *shots, sep="\n  ")
