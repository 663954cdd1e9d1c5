"""The dashboard in a real browser: log in with a key, upload files, create a job, watch its
loss curve grow while the tiny model trains, pause, resume and cancel it, and chat in the
playground (streamed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.data import chat_rows

pytestmark = pytest.mark.browser
API_KEY = "sk-dashboard-test-key"  # the key dashboard_server grants
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def root_url(server) -> str:
    return server.url.removesuffix("/v1") + "/"


def log_in(page, server, key: str = API_KEY) -> None:
    page.goto(root_url(server))
    page.fill("#api-key", key)
    page.click("#login button[type=submit]")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def points(page, series: str) -> int:
    line = page.locator(f'#charts polyline[data-series="{series}"]')
    return int(line.get_attribute("data-points") or 0) if line.count() else 0


def wait_for_points(page, series: str, at_least: int) -> int:
    page.wait_for_function(
        "([s, n]) => Number(document.querySelector(`#charts polyline[data-series='${s}']`)"
        "?.getAttribute('data-points') || 0) >= n",
        arg=[series, at_least],
        timeout=180_000,
    )
    return points(page, series)


def upload(page, path: Path) -> str:
    page.goto(root_url_of(page) + "#/files")
    page.set_input_files("#upload-file", str(path))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-status >> text=Uploaded")
    file_id = page.inner_text("#upload-status").split()[-1]
    page.wait_for_selector(f'#files tr[data-file="{file_id}"]')
    return file_id


def root_url_of(page) -> str:
    return page.url.split("#")[0]


def test_a_wrong_key_is_refused_and_a_right_one_opens_the_jobs_list(make_server, page):
    from openft.config import KeyGrant

    server = make_server(api_keys={"sk-right": KeyGrant()})
    log_in(page, server, key="sk-wrong")
    page.wait_for_selector("#login .error >> text=Incorrect API key")
    log_in(page, server, key="sk-right")
    page.wait_for_selector("#jobs")
    assert page.evaluate("localStorage.getItem('openft.key')") == "sk-right"
    assert page.request.get(root_url(server) + "health").ok  # the dashboard does not shadow /health


def test_upload_create_watch_the_curve_grow_pause_resume_and_cancel(dashboard_server, page, tmp_path):
    server = dashboard_server()
    log_in(page, server)
    page.wait_for_selector("#jobs")
    training = upload(page, write_jsonl(tmp_path / "train.jsonl", chat_rows(20)))
    validation = upload(page, write_jsonl(tmp_path / "valid.jsonl", chat_rows(8, answer="Paris.")))

    page.click("text=New job")
    page.fill("#job-model", "tiny")
    page.select_option("#job-training-file", training)
    page.select_option("#job-validation-file", validation)
    page.fill("#hp-n_epochs", "50")
    page.fill("#hp-batch_size", "1")
    page.click("#new-job button[type=submit]")
    page.wait_for_url("**/#/jobs/ftjob-*")

    first = wait_for_points(page, "train_loss", 3)
    grown = wait_for_points(page, "train_loss", first + 5)  # the page polls: the curve grows by itself
    assert grown > first
    wait_for_points(page, "full_valid_loss", 1)  # the validation file, scored at the first epoch end
    wait_for_points(page, "train_mean_token_accuracy", 30)
    assert page.inner_text("#job-status") == "running"
    assert page.locator("#hyperparameters >> text=n_epochs").count() == 1
    assert page.locator("#events >> text=Step 1/1000").count() == 1
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=False)

    page.click("#pause-job")
    page.wait_for_selector("#job-status.paused", timeout=120_000)
    paused_at = points(page, "train_loss")
    page.click("#resume-job")
    wait_for_points(page, "train_loss", paused_at + 2)  # resumed: training goes on from its snapshot
    page.wait_for_selector("#job-status.running")

    page.click("#cancel-job")
    page.wait_for_selector("#job-status.cancelled")
    page.wait_for_selector("#events >> text=Fine-tuning job cancelled")
    assert page.is_disabled("#cancel-job") and page.is_disabled("#pause-job")
    page.click("text=Jobs")
    page.wait_for_selector("#jobs td.status.cancelled")


def test_the_playground_streams_a_reply_from_the_tiny_model(dashboard_server, page):
    server = dashboard_server(embedded_worker=False)
    log_in(page, server)
    page.wait_for_selector("#jobs")
    page.click("text=Playground")
    page.select_option("#chat-model", "tiny")
    page.fill("#chat-max-tokens", "12")
    page.fill("#chat-input", "What is the capital of France?")
    page.click("#chat-send")
    page.wait_for_selector("#chat-log [data-role=user] >> text=capital of France")
    reply = page.locator("#chat-log [data-role=assistant]")
    reply.and_(page.locator("[data-state=done]")).wait_for(timeout=120_000)
    assert reply.locator(".content").inner_text().strip(), "the tiny model streamed nothing"
