"""A real Chromium (Debian's, driven by Playwright) against a real `ctip runserver`.

The server runs on its own SQLite file with the full geography, the small demo
programme and the demo users, exactly as `make demo` sets them up.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CTIP = [sys.executable, "-m", "ctip.cli"]
PASSWORD = "ctip-demo-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("browser-var")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(CTIP_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings.local")
    for args in (
        ["migrate", "-v0"],
        ["geography", "load"],
        ["demo-data", "--size", "small", "--seed", "1"],
        ["demo-users"],
    ):
        subprocess.run([*CTIP, *args], env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*CTIP, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def test_sign_in_switch_language_and_browse_areas(server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 740})  # a facilitator's phone
    page.goto(f"{server}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "facilitator")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server}/")
    # The demo facilitator prefers Khmer: the interface follows their profile.
    assert page.get_attribute("html", "lang") == "km"

    page.select_option("#lang-select", "vi")  # the select submits itself
    page.wait_for_load_state("load")
    page.wait_for_function("document.documentElement.lang === 'vi'")
    assert "Hộ gia đình" in page.inner_text("nav")

    page.select_option("#lang-select", "km")
    page.wait_for_function("document.documentElement.lang === 'km'")
    nav = page.inner_text("nav")
    assert "តំបន់" in nav  # "Areas"

    page.click("nav >> text=តំបន់")
    page.wait_for_url("**/areas/**")
    body = page.inner_text("main")
    assert "ស្វាយរៀង" in body or "កំពង់ចាម" in body  # Cambodian provinces, in Khmer
    page.goto(f"{server}/areas/?country=KH&search=svay rieng")
    assert "20" in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "areas-km.png"), full_page=True)

    page.select_option("#lang-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.goto(f"{server}/areas/?country=VN&on=2025-06-30")
    assert "Tây Ninh" in page.inner_text("main")
    page.close()


def test_wrong_password_is_refused_in_the_browser(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(f"{server}/accounts/login/")
    page.fill("#id_username", "donor")
    page.fill("#id_password", "not-the-password")
    page.click("main button[type=submit]")
    assert "/accounts/login/" in page.url
    assert page.locator(".errorlist").count() == 1
    page.close()
