"""Fixtures for the dashboard's browser tests: Debian's Chromium driven by Playwright (never a
browser Playwright downloads), a logged-in page, and servers with an API key, whose embedded
worker trains the tiny model. Skipped with a message where Chromium or Playwright is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from openft.config import BaseModelConfig, KeyGrant

API_KEY = "sk-dashboard-test-key"  # test_dashboard.py logs in with it


def chromium_path() -> str | None:
    found = os.environ.get("OPENFT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (the test extra)"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium: install Debian's `chromium` package (make system-deps) to run the browser tests"
        )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    opened.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    opened.on("pageerror", lambda error: print(f"page error: {error}"))
    yield opened
    context.close()


@pytest.fixture
def dashboard_server(make_server, tiny_model_dir):
    """dashboard_server(**settings) -> a server with one API key and the tiny model as "tiny"."""

    def start(**overrides):
        overrides.setdefault("embedded_worker", True)
        return make_server(
            api_keys={API_KEY: KeyGrant()},
            base_models={
                "tiny": BaseModelConfig(
                    source=str(tiny_model_dir), context_length=256, base_learning_rate=1e-3
                )
            },
            model_aliases={},
            worker_poll_seconds=0.2,
            stop_grace_seconds=5,
            **overrides,
        )

    return start
