"""The HTML report as a browser renders it (Debian's ``chromium``, headless), not only as text.

A copy of the page gets a small script that measures the laid-out page and writes what it
found into the DOM, which ``chromium --dump-dom`` prints: nothing wider than the window, every
plot label inside its plot, no two category labels on top of each other, the three verdicts
visible. A screenshot shows the verdict colours. ``.ci/run`` installs chromium when it is
missing; without it these tests fail and say how to install it (they never skip).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from eval_helpers import FAST, make_frame

from synthgen.evaluation import evaluate

WINDOW = (1280, 2400)
LONG_LABEL = "United States of America, including the outlying territories and possessions"

_MEASURE = """
<script>
(function () {
  var out = {overflow: document.documentElement.scrollWidth - window.innerWidth,
             outside: [], overlaps: [], headings: []};
  document.querySelectorAll("svg").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    svg.querySelectorAll("text").forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 ||
                          r.top < box.top - 1 || r.bottom > box.bottom + 1)) {
        out.outside.push(t.textContent);
      }
    });
    var labels = Array.from(svg.querySelectorAll("g.category > text"))
      .map(function (t) { return t.getBoundingClientRect(); });
    for (var i = 1; i < labels.length; i++) {
      if (labels[i].top < labels[i - 1].bottom - 0.5) { out.overlaps.push(i); }
    }
  });
  document.querySelectorAll(".card h3").forEach(function (h) {
    var r = h.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) { out.headings.push(h.innerText); }
  });
  var pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the rendered-report tests need Debian's chromium: apt-get install -y chromium "
            "(.ci/run installs it before make test)"
        )
    return found


def _run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    frames = []
    for seed in (0, 1, 2):
        f = make_frame(400, seed)
        rng = np.random.default_rng(seed)
        f["capital gain"] = np.where(rng.random(400) < 0.9, 0.0, rng.pareto(1.1, 400) * 1000)
        f["country of birth as written on the census form"] = np.where(
            f["g"] == "a", LONG_LABEL, rng.choice(["Mexico", "Canada", "India"], 400)
        )
        frames.append(f)
    report = evaluate(
        frames[0],
        frames[1],
        holdout=frames[2],
        target="label",
        limits=FAST,
        generator="copula",
        data_name="a census extract with a rather long file name, 2024 edition.csv",
    )
    folder = tmp_path_factory.mktemp("rendered")
    path = folder / "report.html"
    report.to_html(path)
    return report, path


def test_rendered_layout_fits_and_labels_stay_readable(page, tmp_path):
    report, path = page
    measured = tmp_path / "measured.html"
    measured.write_text(
        path.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"),
        encoding="utf-8",
    )
    dom = _run(["--virtual-time-budget=5000", "--dump-dom", measured.as_uri()], tmp_path).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, "the layout script did not run"
    layout = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert layout["overflow"] <= 0, "the page is wider than the window"
    assert layout["outside"] == [], f"labels drawn outside their plot: {layout['outside']}"
    assert layout["overlaps"] == [], "category labels overlap"
    verdicts = report.verdicts
    assert layout["headings"] == [
        f"{group.capitalize()} verdict: {found['verdict']}" for group, found in verdicts.items()
    ]
    # the cut label is in the rendered DOM with its full text as the tooltip
    assert f"<title>{LONG_LABEL}</title>" in dom


def test_screenshot_shows_the_verdict_colours(page, tmp_path):
    from PIL import Image

    report, path = page
    shot = tmp_path / "report.png"
    _run([f"--screenshot={shot}", path.as_uri()], tmp_path)
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    colours = {"pass": (0xD9, 0xF2, 0xD9), "warn": (0xFF, 0xF2, 0xCC), "fail": (0xF8, 0xD0, 0xD0)}
    top = image[:400]  # the verdicts sit at the top of the page
    for group, found in report.verdicts.items():
        if found["verdict"] in colours:
            hit = np.all(top == colours[found["verdict"]], axis=2).sum()
            assert hit > 200, f"{group}'s {found['verdict']} colour is not on screen"
    assert (image < 128).any(axis=2).mean() > 0.01  # text and plots were drawn
