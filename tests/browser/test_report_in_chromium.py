"""The HTML report in a real browser: headless Chromium opens the file from disk, every
image loads, the console has no error, and a screenshot is kept.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make report-check`` installs them
and runs this test alone); skipped when they are absent. The screenshot is written to
``$NEUROMIX_ARTEFACTS`` (default: the test's temporary folder) as ``report.png``.
"""

import os
import shutil
from pathlib import Path

import pytest

import neuromix as nm

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (make report-check)",
)


def _browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,900"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def test_the_report_opens_from_disk_with_every_image_and_no_console_error(tmp_path):
    rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
    model = nm.fit(rec, subject_dim="rat", epochs=3, patience=None, beta=1.0, progress=False)
    path = model.report(tmp_path / "report.html", n_boot=20)
    artefacts = Path(os.environ.get("NEUROMIX_ARTEFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)
    driver = _browser()
    try:
        driver.get(path.resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
        )
        assert len(images) >= 10, images
        broken = [alt for complete, width, alt in images if not (complete and width > 0)]
        assert not broken, f"images that did not load: {broken}"
        # nothing is fetched from elsewhere: every image is embedded
        sources = driver.execute_script("return Array.from(document.images).map(i => i.src)")
        assert all(s.startswith("data:image/png;base64,") for s in sources)
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1200, min(int(height) + 100, 16000))
        shot = artefacts / "report.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        driver.quit()
