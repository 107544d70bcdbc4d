"""Try every interactive explorer live, the way a student would, in JupyterLab.

A manual check, not a test (about 3 minutes, and it drives JupyterLab's own UI):

    .venv/bin/python tools/try_explorers_live.py [chapter ...]

It copies ``chapters/`` to a temporary folder, starts ``jupyter lab`` there (the
venv's kernel, autosave off, nothing written back), and for each chapter with an
explorer opens its notebook in headless Chromium, runs it with JupyterLab's own
*Run All Cells*, then changes the first explorer's control as a reader would (arrow
keys on a slider, typing into a text box and pressing Enter) and checks that the
picture and caption change. It prints the captions before and after, and saves
screenshots to ``test-artifacts/live/``. Exit status 1 if any chapter fails.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
# chapter -> how to change its first explorer: ("slider", key presses) or ("text", new text)
CHAPTERS = {
    "vanishing_gradients": ("slider", 3),
    "unrolled_rnn": ("text", "0123012301"),
    "lstm": ("text", "((a)((b)))"),
    "attention": ("text", "three hundred and twelve"),
}
# JupyterLab settings for a scripted session: every cell rendered (no windowing, so
# the explorers exist in the page), no autosave, no news pop-up.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
EXPLORER = ".jp-OutputArea-output .widget-vbox:has(.widget-html img)"
CURRENT = "window.jupyterapp.shell.currentWidget"


def find_chromium():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("Chromium is needed (Debian: apt-get install chromium; or set CHROMIUM=path)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_lab(workdir, port, token, log):
    settings = workdir / "settings"
    for name, values in SETTINGS.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    shutil.copytree(ROOT / "chapters", workdir / "root" / "chapters")
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
    )
    lab = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={workdir / 'root'}",
            "--LabApp.expose_app_in_browser=True",
            # containers often run as root, which Jupyter refuses without this
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    sys.exit(f"JupyterLab did not start; see {log}")


def run_notebook(page, url, name):
    """Open chapters/NAME.ipynb and run all its cells.

    Returns (code cells that ran, code cells, seconds, error outputs as 'Name: message').
    """
    page.goto(f"{url}/lab/tree/chapters/{name}.ipynb?reset")
    page.wait_for_function(
        f"() => window.jupyterapp && {CURRENT} && {CURRENT}.context"
        f" && {CURRENT}.context.path.endsWith('{name}.ipynb')"
        f" && {CURRENT}.sessionContext.session?.kernel?.status === 'idle'",
        timeout=120_000,
    )
    started = time.perf_counter()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when the kernel is idle and no cell is running or queued, and either every
    # code cell ran or one failed (Run All stops there, leaving the rest unrun).
    cells = f"[...{CURRENT}.content.model.cells].filter(c => c.type === 'code')"
    errors = (
        f"{cells}.flatMap(c => c.toJSON().outputs)"
        ".filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)"
    )
    page.wait_for_function(
        f"""() => {CURRENT}.sessionContext.session.kernel.status === 'idle'
              && {cells}.every(c => c.executionState !== 'running')
              && ({cells}.every(c => c.executionCount !== null) || {errors}.length > 0)""",
        timeout=300_000,
        polling=1000,
    )
    ran, count, failures = page.evaluate(
        f"() => [{cells}.filter(c => c.executionCount !== null).length, {cells}.length, {errors}]"
    )
    return ran, count, time.perf_counter() - started, failures


def change_control(page, explorer, how, value):
    if how == "slider":
        handle = explorer.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(value):
            handle.press("ArrowRight")
    else:
        box = explorer.locator(".widget-text input").first
        box.fill(value)
        box.press("Enter")


def try_chapter(page, url, name, out):
    ran, cells, seconds, errors = run_notebook(page, url, name)
    print(
        f"{name}: {ran} of {cells} code cells ran in {seconds:.0f} s, {len(errors)} error outputs"
    )
    for error in errors:
        print("   ", error[:200])
    if errors:
        return False
    explorer = page.locator(EXPLORER).first
    explorer.scroll_into_view_if_needed()
    picture = explorer.locator(".widget-html img").first
    caption = explorer.locator(".widget-html").first
    before_src, before_caption = picture.get_attribute("src"), caption.inner_text()
    how, value = CHAPTERS[name]
    change_control(page, explorer, how, value)
    # The HTML widget replaces its <img> on each redraw, so read the src afresh.
    deadline = time.monotonic() + 60
    while picture.get_attribute("src") == before_src and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    changed = picture.get_attribute("src") != before_src
    after_caption = caption.inner_text()
    explorer.screenshot(path=str(out / f"{name}.png"))
    print(f"    before: {before_caption.strip()}")
    print(f"    after {how} {value!r}: {after_caption.strip()}")
    print(f"    picture changed: {changed}")
    return not errors and changed and after_caption != before_caption


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "chapters",
        nargs="*",
        metavar="chapter",
        help=f"some of {', '.join(CHAPTERS)} (default: all)",
    )
    chapters = parser.parse_args().chapters or list(CHAPTERS)
    unknown = sorted(set(chapters) - set(CHAPTERS))
    if unknown:
        parser.error(f"chapter: got {', '.join(unknown)}; expected some of {', '.join(CHAPTERS)}")
    out = ROOT / "test-artifacts" / "live"
    out.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as temporary:
        lab = start_lab(Path(temporary), port, token, out / "jupyterlab.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=find_chromium())
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/lab?token={token}")
                results = {
                    name: try_chapter(page, f"http://127.0.0.1:{port}", name, out)
                    for name in chapters
                }
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    print(f"screenshots in {out}")
    failed = [name for name, ok in results.items() if not ok]
    print("all explorers work live" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
