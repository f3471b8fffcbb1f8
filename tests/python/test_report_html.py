"""report.html of a real run, opened in a browser nobody here wrote: headless Chromium (Debian `chromium`,
installed by scripts/test). Its --dump-dom (the page as the browser parsed it) holds every invariant row of
report.json, the SVG charts with their lines, and no <script> element although the scenario's name is one; a
--screenshot at 1280 px wide is a real PNG of that width with content in it.

Chromium missing is a failure, never a skip. The binary comes from $TOKENSTORM_BIN, else
target/debug/tokenstorm. Run: pytest tests/python
"""

import json
import pathlib
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from test_junit import run_dir

HOSTILE = "<script>alert('x')</script>"


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not on PATH: scripts/test installs it (Debian package chromium)", pytrace=False)


def headless(tmp_path: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium without a sandbox (containers run it as root), GPU or a shared profile."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180,
    )


class Dom(HTMLParser):
    """The elements the test looks at: verdict rows, charts (an <svg> directly in a figure.chart), their lines,
    and any <script>."""

    def __init__(self):
        super().__init__()
        self.invariants, self.charts, self.lines, self.scripts = {}, 0, 0, 0
        self.stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-invariant" in a:
            self.invariants[a["data-invariant"]] = a.get("class", "")
        if tag == "svg" and self.stack and self.stack[-1] == ("figure", "chart"):
            self.charts += 1
        self.lines += tag == "polyline"
        self.scripts += tag == "script"
        self.stack.append((tag, a.get("class", "")))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass


def leaky_run(tmp_path: pathlib.Path) -> pathlib.Path:
    """A run whose forged credentials reach the authorizer (a failing verdict) under a hostile name."""
    scenario = tmp_path / "leaky.toml"
    scenario.write_text(
        f"name = {json.dumps(HOSTILE)}\n"
        "[run]\nduration_s = 60.0\nmax_attempts = 200\nrate_per_s = 1000.0\n"
        "[devices]\ncount = 10\n[authorizer]\nsigning_disabled = true\n"
        "[mix]\nvalid = 1.0\nforged = 2.0\nreplayed = 0.5\n"
    )
    return run_dir(tmp_path, scenario, 1)


def test_chromium_renders_every_verdict_row_and_the_charts(tmp_path):
    folder = leaky_run(tmp_path)
    report = json.loads((folder / "report.json").read_text())
    page = folder / "report.html"

    dumped = headless(tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr
    dom = Dom()
    dom.feed(dumped.stdout)
    want = {inv["name"]: inv["status"] for inv in report["invariants"]}
    assert set(dom.invariants) == set(want), dumped.stdout[:2000]
    for name, status in want.items():
        assert dom.invariants[name].split() == ["verdict", status], name
    assert "fail" in want.values()
    # The spectrum (one transport), attempts/s by outcome, p99 per second, invocations per second by class.
    assert dom.charts >= 4 and dom.lines >= dom.charts, (dom.charts, dom.lines)
    assert dom.scripts == 0, "the scenario's name became a script element"
    assert HOSTILE in dumped.stdout.replace("&lt;", "<").replace("&gt;", ">")

    shot = tmp_path / "shot.png"
    taken = headless(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0, taken.stderr
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 2400)
    # A blank 1280×2400 PNG compresses to a few kB; text, tables and charts make it far larger.
    assert len(png) > 100_000, len(png)
