"""The built website in a real browser, with every non-local request blocked.

Serves _build/html on localhost and opens every page in headless Chromium:
math renders, images load and have alt text, nothing fails, launch buttons
point at notebooks that exist, widgets render. A screenshot of every page is
saved under test-artifacts/site/.
"""

import functools
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import ARTIFACTS, REPO, book_config, notebook_pages, toc_files

pytestmark = pytest.mark.slow  # builds the book and drives a headless browser

PAGES = [*toc_files(), "index", "genindex", "search"]
CHAPTERS = [page for page in toc_files() if page.startswith("chapters/")]
PAGES_WITH_MATH = ["preface", *CHAPTERS]
# The labels each page's widgets show from their saved state, and whether an
# explorer's figure (an <img> in an HTML widget) is among them:
# page -> (labels of the controls, with a figure)
PAGES_WITH_WIDGETS = {
    "chapters/notation": (["D (input)", "H (hidden)"], False),
    "chapters/unrolled_rnn": (["sequence", "step t"], True),
    "chapters/vanishing_gradients": (
        ["spectral radius", "RNN nonlinearity", "length T", "LSTM forget bias"],
        True,
    ),
    "chapters/lstm": (["string", "unit"], True),
    "chapters/attention": (["source"], True),
}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def find_chromium():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url(built_book):
    assert built_book.returncode == 0, "the book did not build; see test_book_build"
    handler = functools.partial(QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        message = (
            "Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it"
        )
        if os.environ.get("CI"):
            pytest.fail(message + ", so in CI this is an error")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def open_offline(browser, site_url, name):
    """Open a page with non-local requests blocked; return it and what went wrong while loading."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = {"console": [], "external": [], "failed": []}

    def route(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            problems["external"].append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
    page.on("pageerror", lambda e: problems["console"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed"].append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: r.status >= 400 and problems["failed"].append(f"{r.url} (HTTP {r.status})"),
    )
    page.goto(f"{site_url}/{name}.html", wait_until="load")
    page.wait_for_load_state("networkidle")
    # MathJax typesets after load; its startup promise resolves when it is done.
    page.evaluate("() => window.MathJax ? MathJax.startup.promise.then(() => true) : true")
    if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        # Any widget the html-manager rendered: sliders, progress bars, ...
        page.wait_for_selector(".jupyter-widgets", timeout=15000)
    return page, problems


@pytest.fixture(scope="module")
def visit(site_url, browser):
    """Each page loaded once and screenshotted; the checks below only read it."""
    screenshots = ARTIFACTS / "site"
    screenshots.mkdir(parents=True, exist_ok=True)
    loaded = {}

    def loaded_page(name):
        if name not in loaded:
            page, problems = open_offline(browser, site_url, name)
            page.screenshot(
                path=str(screenshots / f"{name.replace('/', '__')}.png"), full_page=True
            )
            loaded[name] = (page, problems)
        return loaded[name]

    yield loaded_page
    for page, _ in loaded.values():
        page.context.close()


@pytest.fixture
def fresh_page(site_url, browser):
    """A page of its own, for a test that clicks and so changes what the others read."""
    opened = []

    def open_page(name):
        page, _ = open_offline(browser, site_url, name)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(visit, name):
    page, problems = visit(name)
    assert not problems["external"], f"{name} asks the network for {problems['external']}"
    assert not problems["failed"], f"{name} has failed local requests: {problems['failed']}"
    assert not problems["console"], f"{name} logs errors: {problems['console']}"


@pytest.mark.parametrize("name", PAGES)
def test_math_is_rendered_where_there_is_math(visit, name):
    page, _ = visit(name)
    math = page.locator(".math").count()
    unrendered = page.locator(".math:not(:has(mjx-container))").count()
    errors = page.locator("mjx-merror").count()
    if name in PAGES_WITH_MATH:
        assert math > 0, f"{name} should have math"
    assert unrendered == 0, f"{unrendered} of {math} math elements on {name} were not typeset"
    assert errors == 0, f"{errors} TeX errors on {name}"


@pytest.mark.parametrize("name", PAGES)
def test_images_load_and_have_alt_text(visit, name):
    page, _ = visit(name)
    images = page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({src: e.currentSrc || e.src, alt: e.getAttribute('alt'),"
        " loaded: e.complete && e.naturalWidth > 0}))",
    )
    broken = [image["src"] for image in images if not image["loaded"]]
    no_alt = [image["src"] for image in images if not (image["alt"] or "").strip()]
    assert not broken, f"images on {name} did not load: {broken}"
    assert not no_alt, f"images on {name} have no alt text: {no_alt}"


@pytest.mark.parametrize("name", notebook_pages())
def test_launch_buttons_open_the_paired_notebook(visit, name):
    page, _ = visit(name)
    colab = page.eval_on_selector_all(
        'a[href*="colab.research.google.com"]', "els => els.map(e => e.href)"
    )
    binder = page.eval_on_selector_all('a[href*="mybinder.org"]', "els => els.map(e => e.href)")
    repository = book_config()["repository"]
    owner_repo = urlparse(repository["url"]).path.strip("/")
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    # Colab opens the notebook this build published (install cell pinned to the
    # revision), on the branch the site is published to.
    assert colab == [
        f"https://colab.research.google.com/github/{owner_repo}/blob/"
        f"{repository['site_branch']}/notebooks/{name}.ipynb"
    ]
    assert (REPO / "_build" / "html" / "notebooks" / f"{name}.ipynb").is_file()
    # Binder builds this very commit, whose binder/ installs its own helpers.
    assert len(binder) == 1 and binder[0].startswith(
        f"https://mybinder.org/v2/gh/{owner_repo}/{revision}?"
    )
    notebook_path = parse_qs(urlparse(binder[0]).query)["urlpath"][0].removeprefix("tree/")
    assert notebook_path == f"{name}.ipynb"
    assert (REPO / notebook_path).is_file()


@pytest.mark.parametrize("name", PAGES_WITH_WIDGETS)
def test_widgets_render_from_saved_state(visit, name):
    page, problems = visit(name)
    expected_labels, with_figure = PAGES_WITH_WIDGETS[name]
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    labels = page.locator(".widget-label").all_inner_texts()
    assert views >= 1, f"{name} has no widget in its saved state"
    assert set(expected_labels) <= set(labels), labels
    if with_figure:
        # The figure is an <img> inside an HTML widget, restored from the saved state.
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-html img')]"
            ".some(image => image.naturalWidth > 0)",
            timeout=10000,
        )
        # and the saved state is the explorer's default view, not a problem it reported
        # (a chapter tries other settings on a second explorer, not on the one shown).
        assert page.locator(".widget-html span[style*='color']").count() == 0
    assert not problems["console"]


PAGES_WITH_SOLUTIONS = CHAPTERS


@pytest.mark.parametrize("name", PAGES)
def test_solutions_are_hidden_until_opened(fresh_page, name):
    page = fresh_page(name)
    solutions = page.locator(".solution.dropdown")
    count = solutions.count()
    hidden_at_first, shown_after_click = [], []
    for index in range(count):
        solution = solutions.nth(index)
        body = solution.locator("section").first
        hidden_at_first.append(not body.is_visible())
        # Click the title bar where its toggle arrow is (the right end): the middle of the
        # title is the link "Exercise N (Kind)", which scrolls to the exercise instead.
        title = solution.locator(".admonition-title")
        box = title.bounding_box()
        title.click(position={"x": box["width"] - 12, "y": box["height"] / 2})
        body.wait_for(state="visible", timeout=5000)
        shown_after_click.append(body.is_visible())
    if name in PAGES_WITH_SOLUTIONS:
        assert count > 0, f"{name} should have exercise solutions"
    assert all(hidden_at_first), f"solutions visible on {name} before a click: {hidden_at_first}"
    assert all(shown_after_click)


PAGES_WITH_SOLUTION_CODE = [
    page for page in CHAPTERS if "### BEGIN SOLUTION" in (REPO / f"{page}.md").read_text()
]


@pytest.mark.parametrize("name", PAGES_WITH_SOLUTION_CODE)
def test_solution_code_is_collapsed_until_opened(fresh_page, name):
    page = fresh_page(name)
    cells = page.locator(".cell.tag_hide-input").filter(has_text="BEGIN SOLUTION")
    assert cells.count() >= 1, f"{name}: no collapsed cell holds a solution"
    for index in range(cells.count()):
        cell = cells.nth(index)
        source = cell.locator(".cell_input")
        assert not source.is_visible(), f"{name}: solution code visible before a click"
        cell.locator("summary").first.click()
        source.wait_for(state="visible", timeout=5000)
        # The check's report below the code stays visible either way.
        assert cell.locator(".cell_output").is_visible()
