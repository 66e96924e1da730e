"""The registry dashboard (``/ui``) in a real browser, cut off from the internet.

Each test drives the page as a user would (clicks, the keyboard, the confirmation dialog)
against a real server, and checks the outcome through the API. The screenshots they take
are the docs' (``make screenshots`` writes them to ``docs/_static/screenshots``).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browsing import RENDER_MS, Visit, visiting
from tests.e2e.conftest import LiveServer, start_server, wait_for_job
from tests.e2e.test_auth import ADMIN_KEY, PREDICT_KEY, bearer, start_keyed_server

#: A virginica row: a one-split tree cannot tell it from versicolor, a full tree can.
VIRGINICA = {"data": [[6.3, 3.3, 6.0, 2.5]]}
#: Milliseconds a training job of the tests may take (a safety net, not a measure).
TRAINING_MS = 180_000


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server in development mode, as ``make run`` starts it, for the module's tests."""
    server = start_server(tmp_path_factory.mktemp("ui-server"))
    yield server
    server.stop()


@pytest.fixture
def visit(browser: Browser, ui_server: LiveServer) -> Iterator[Visit]:
    """A fresh page on the module's server."""
    with visiting(browser, ui_server.url) as seen:
        yield seen


def _train(server: LiveServer, order: dict[str, Any], key: str | None = None) -> int:
    """Train a version through the API and return its number."""
    headers = bearer(key) if key else {}
    with server.client(headers=headers) as client:
        answer = client.post("/v1/train", json=order)
        assert answer.status_code == 202, answer.text
        job = wait_for_job(client, answer.headers["location"])
    assert job["state"] == "succeeded", job
    return int(job["model_version"])


def _open(visit: Visit) -> Page:
    answer = visit.page.goto("/ui")
    assert answer is not None
    assert answer.status == 200
    visit.wait_until_shown(visit.page.locator("#served strong").first)
    return visit.page


def _confirm(page: Page) -> None:
    """Confirm the action the dialog asks about, with the keyboard."""
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-cancel")).to_be_focused()  # the safe choice first
    page.keyboard.press("Tab")
    expect(page.locator("#confirm-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()


def test_the_page_shows_the_served_version_its_metrics_and_card_offline(
    visit: Visit, tmp_path: Path
) -> None:
    page = _open(visit)

    expect(page.locator("#served")).to_contain_text("Serving version 1: decision_tree")
    expect(page.locator("#served")).to_contain_text("iris")
    row = page.locator('#versions-table tr[data-version="1"]')
    expect(row.locator(".badge")).to_have_text("serving")
    expect(row.get_by_role("button", name="Activate")).to_be_disabled()
    expect(row.get_by_role("button", name="Delete")).to_be_disabled()

    row.get_by_role("button", name="v1, details").click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("criterion")  # the hyperparameters
    matrix = detail.locator("table.matrix")
    expect(matrix.locator("tbody tr")).to_have_count(3)  # one row per true class
    expect(matrix.locator("tbody th")).to_have_text(["setosa", "versicolor", "virginica"])
    # The algorithms of the catalogue, with the default's hyperparameters as fields.
    expect(page.locator("#train-algorithm option")).to_have_count(3)
    expect(page.locator("#hp-criterion")).to_have_value("gini")
    visit.screenshot("dashboard-version.png", tmp_path)

    page.locator("#card summary").click()
    card = page.locator("#card-body")
    expect(card.locator("h1")).to_have_text("Model card of version 1")
    expect(card).to_contain_text("Intended uses")

    assert visit.outside == []
    assert visit.errors == []


def test_a_job_started_from_the_form_shows_progress_and_ends_as_a_new_version(
    visit: Visit, ui_server: LiveServer, tmp_path: Path
) -> None:
    page = _open(visit)
    before = page.locator("#versions-table tbody tr").count()
    page.locator("#train-algorithm").select_option("gradient_boosting")
    expect(page.locator("#hp-n_estimators")).to_have_value("100")

    # A value the API refuses: its problem detail is shown, and nothing is queued.
    page.locator("#hp-n_estimators").fill("many")
    page.get_by_role("button", name="Start training").click()
    _confirm(page)
    problem = page.locator("#problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("n_estimators")
    expect(problem).to_contain_text("valid integer")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(0)

    # Enough stages to watch: fitting reports its progress, then the file is written.
    page.locator("#hp-n_estimators").fill("300")
    page.locator("#train-activate").uncheck()
    page.get_by_role("button", name="Start training").click()
    _confirm(page)
    expect(problem).to_be_hidden()
    page.wait_for_function(
        """() => [...document.querySelectorAll('#jobs-table tr[data-state="running"] progress')]
              .some((bar) => bar.value > 0 && bar.value < 1)""",
        timeout=TRAINING_MS,
    )
    visit.screenshot("dashboard-training.png", tmp_path)

    done = page.locator('#jobs-table tr[data-state="succeeded"]')
    expect(done).to_have_count(1, timeout=TRAINING_MS)
    expect(done.locator("progress")).to_have_attribute("value", "1")
    expect(page.locator("#versions-table tbody tr")).to_have_count(before + 1)
    with ui_server.client() as client:
        newest = client.get("/v1/models", params={"limit": 1}).json()["items"][0]
    assert newest["algorithm"] == "gradient_boosting"
    assert newest["hyperparameters"]["n_estimators"] == 300
    assert not newest["active"]  # "Serve it once trained" was unticked
    expect(done).to_contain_text(f"v{newest['version']}")
    expect(page.locator("#served")).to_contain_text("Serving version 1")
    expect(done.get_by_role("button", name="Cancel")).to_have_count(0)

    # A long job, cancelled from its row: it ends cancelled, and no version comes of it.
    page.locator("#hp-n_estimators").fill("5000")
    page.get_by_role("button", name="Start training").click()
    _confirm(page)
    unfinished = page.locator('#jobs-table tr:is([data-state="queued"], [data-state="running"])')
    unfinished.get_by_role("button", name="Cancel").click()
    expect(page.locator("#confirm-text")).to_contain_text("gradient_boosting")
    _confirm(page)
    cancelled = page.locator('#jobs-table tr[data-state="cancelled"]')
    expect(cancelled).to_contain_text("cancelled by api", timeout=TRAINING_MS)
    expect(cancelled.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#versions-table tbody tr")).to_have_count(before + 1)

    assert visit.outside == []
    # Chromium logs each error answer as a console error: the 422 was the only one.
    assert [error for error in visit.errors if "status of 422" not in error] == []


def test_activating_from_the_page_changes_what_predict_answers(
    visit: Visit, ui_server: LiveServer, tmp_path: Path
) -> None:
    stump = _train(
        ui_server,
        {"algorithm": "decision_tree", "hyperparameters": {"max_depth": 1}, "activate": False},
    )
    with ui_server.client() as client:
        served = client.get("/v1/model").json()["version"]
        before = client.post("/predict", json=VIRGINICA).json()
    page = _open(visit)
    row = page.locator(f'#versions-table tr[data-version="{stump}"]')

    # Delete, then change one's mind: Escape closes the dialog and nothing is deleted.
    row.get_by_role("button", name="Delete").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text(f"Delete version {stump}")
    page.keyboard.press("Escape")
    expect(page.locator("#confirm")).to_be_hidden()

    # Activate, from the keyboard alone.
    row.get_by_role("button", name="Activate").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-text")).to_contain_text(f"instead of version {served}")
    _confirm(page)
    expect(page.locator("#served")).to_contain_text(f"Serving version {stump}:")
    expect(row.locator(".badge")).to_have_text("serving")

    with ui_server.client() as client:
        after = client.post("/predict", json=VIRGINICA).json()
        assert client.get(f"/v1/models/{stump}").status_code == 200  # not deleted
        assert client.get("/v1/model").json()["version"] == stump
    assert before["prediction"] == [2]
    assert after != before
    # A single split sets setosa apart and leaves the other two classes mixed.
    assert 0 < after["probability"][0][2] < 1

    # The two versions side by side.
    page.locator("#compare-a").select_option(str(stump))
    page.locator("#compare-b").select_option(str(served))
    comparison = page.locator("#compare-body")
    expect(comparison.locator("table.matrix")).to_have_count(2)
    expect(comparison.locator("thead th")).to_contain_text(
        [f"Version {stump}", f"Version {served}"]
    )
    visit.screenshot("dashboard.png", tmp_path)

    assert visit.outside == []
    assert visit.errors == []


def test_the_page_fits_a_phone_screen(
    browser: Browser, ui_server: LiveServer, tmp_path: Path
) -> None:
    with visiting(browser, ui_server.url, viewport=(390, 844)) as visit:
        page = _open(visit)
        visit.screenshot("dashboard-phone.png", tmp_path, full_page=False)
        page.locator("#versions-table tbody button.link").first.click()
        expect(page.locator("#detail table.matrix")).to_be_visible()
        page.locator("#compare").scroll_into_view_if_needed()
        # Wide tables scroll in their own boxes; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert visit.errors == []


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with an admin key and a predict key, and a second version to activate."""
    server = start_keyed_server(tmp_path_factory.mktemp("keyed-ui"))
    _train(server, {"hyperparameters": {"max_depth": 2}, "activate": False}, ADMIN_KEY)
    yield server
    server.stop()


def _give_key(page: Page, key: str) -> None:
    page.locator("#key-input").fill(key)
    page.keyboard.press("Enter")


def test_with_keys_the_page_asks_for_one_and_shows_the_apis_refusal(
    browser: Browser, keyed_server: LiveServer, tmp_path: Path
) -> None:
    with visiting(browser, keyed_server.url) as visit:
        page = visit.page
        page.goto("/ui")
        panel, problem = page.locator("#key-panel"), page.locator("#problem")
        visit.wait_until_shown(panel)
        expect(page.locator("#key-reason")).to_contain_text("needs an API key of the predict")
        expect(page.locator("#key-input")).to_be_focused()

        _give_key(page, "mlapi_not-a-key-of-this-server")
        expect(page.locator("#problem-detail")).to_have_text("The API key is not valid.")
        expect(page.locator("#key-reason")).to_have_text("The API key is not valid.")
        visit.screenshot("dashboard-key.png", tmp_path)

        _give_key(page, PREDICT_KEY)
        expect(page.locator("#served")).to_contain_text("Serving version 1")
        expect(panel).to_be_hidden()
        expect(problem).to_be_hidden()

        # Reading works with a predict key; activating needs an admin key, as the API says.
        row = page.locator('#versions-table tr[data-version="2"]')
        row.get_by_role("button", name="Activate").click()
        _confirm(page)
        expect(page.locator("#problem-detail")).to_contain_text(
            "has the predict scope; this route needs an admin key"
        )
        expect(panel).to_be_visible()

        _give_key(page, ADMIN_KEY)
        row.get_by_role("button", name="Activate").click()
        _confirm(page)
        expect(page.locator("#served")).to_contain_text("Serving version 2", timeout=RENDER_MS)
        assert visit.outside == []

    with keyed_server.client(headers=bearer(ADMIN_KEY)) as client:
        assert client.get("/v1/model").json()["version"] == 2
        audit = client.get("/v1/audit").json()["items"]
    activations = [event for event in audit if event["action"] == "activate"]
    assert [event["outcome"] for event in activations[:2]] == ["succeeded", "denied"]
    assert activations[0]["key_name"] == "ops"
