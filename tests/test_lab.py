"""Notebook 04 as an attendee meets it: JupyterLab in headless Chromium, Run All, then the live box.

A real JupyterLab server (this environment's, with the workshop kernel) is started on 127.0.0.1
with a token, on a copy of notebooks/ in a temporary folder, so the repository's notebooks are
never saved over; autosave is off as well. Its kernels get PYTHONPATH set to this repository, so
they import this checkout's crepe. The server and everything it started are stopped by PID at the
end, whatever happened. Run All of notebook 04 takes about 35 s in quick mode on 2 cores.

Set BROWSER_SCREENSHOTS=folder to keep screenshots of what the page showed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.browser import require, screenshot, start_chromium
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_crepe.ipynb"
KERNEL = "cnn-nlp-workshop"
KERNEL_SPEC = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
HEADLINE = "NASA scientists discover new planet with space telescope"

SERVER_START_SECONDS = 90
APP_LOAD_SECONDS = 120
KERNEL_READY_SECONDS = 120
RUN_ALL_SECONDS = 600
REDRAW_SECONDS = 90
STOP_SECONDS = 20

# JupyterLab's own user settings, written into a settings folder of the test's own.
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def wait_for(condition, seconds, what, step=0.5):
    """Poll ``condition()`` until it returns something truthy; fail after ``seconds`` saying ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds} s waiting for {what}")
        time.sleep(step)


def descendants(pid):
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop(process):
    """Stop the server's process group (SIGTERM, then SIGKILL), then any kernel it left, by PID."""
    import psutil

    children = descendants(process.pid)          # kernels run in sessions of their own
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)   # the server shuts its kernels down on SIGTERM
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_SECONDS)
    for child in children:
        try:
            child.wait(STOP_SECONDS)
        except psutil.TimeoutExpired:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def server_is_up(url, token, process, log):
    if process.poll() is not None:
        pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
    request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/: (url, token, server log)."""
    require(KERNEL_SPEC.is_file(), f"no '{KERNEL}' kernel in {sys.prefix} (run the tests through `make test`)")
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", home / "notebooks")
    (home / "benchmarks").symlink_to(ROOT / "benchmarks")   # the notebooks read ../benchmarks
    (home / "models").symlink_to(ROOT / "models")           # and 04's live box the shipped model
    for name, values in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(values))
    port, token = free_port(), uuid.uuid4().hex
    env = dict(os.environ, WORKSHOP_QUICK="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={home / 'notebooks'}", "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")                    # JupyterLab refuses root without it
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: server_is_up(url, token, process, log), SERVER_START_SECONDS, "JupyterLab to answer")
        yield url, token, log
    finally:
        stop(process)


# Scripts run in the page. window.jupyterapp is there because of --LabApp.expose_app_in_browser.
PANEL = "const panel = window.jupyterapp.shell.currentWidget;"
OPENED = """
const app = window.jupyterapp;
const panel = app && app.shell && app.shell.currentWidget;
return !!(panel && panel.context && panel.context.path === arguments[0] && panel.sessionContext);
"""
KERNEL_STATE = PANEL + """
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
return kernel ? {name: kernel.name, display: panel.sessionContext.kernelDisplayName,
                 status: kernel.status} : null;
"""
PROGRESS = PANEL + """
const cells = panel.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim());
const errors = [];
cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {
    if (o.output_type === 'error') errors.push(`code cell ${i}: ${o.ename}: ${o.evalue}`);
}));
return {cells: cells.length,
        counted: cells.filter(c => c.model.executionCount !== null).length,
        running: cells.filter(c => c.model.executionState === 'running').length,
        kernel: panel.sessionContext.session.kernel.status, errors: errors};
"""
LIVE_CELL = PANEL + """
const cell = panel.content.widgets.find(c => c.model.sharedModel.getSource().includes('widgets.Text('));
if (!cell) return null;
cell.node.scrollIntoView({block: 'start'});
return cell.node;
"""
# What the widget's output shows now: a hash of its picture, or the text of an error it printed.
WIDGET_OUTPUT = """
const output = arguments[0].querySelector('.widget-output');
if (!output) return null;
const error = output.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]');
if (error) return {error: error.textContent};
const image = output.querySelector('img');
if (!image || !image.src) return null;
let hash = 0;
for (let i = 0; i < image.src.length; i++) hash = (hash * 31 + image.src.charCodeAt(i)) | 0;
return {image: `${image.src.length}:${hash}`};
"""
CRE_FILE = """
const done = arguments[arguments.length - 1];
const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
const future = kernel.requestExecute({code: 'import crepe; print(crepe.__file__, end="")', store_history: false});
let text = '';
future.onIOPub = message => { if (message.header.msg_type === 'stream') text += message.content.text; };
future.done.then(() => done(text), error => done('failed: ' + error));
"""


@pytest.fixture(scope="module")
def run_all(lab):
    """Notebook 04 opened in headless Chromium and run with Run All: (browser, what the run showed)."""
    url, token, log = lab
    chrome = start_chromium()
    try:
        chrome.get(f"{url}/lab/tree/{NOTEBOOK}?reset&token={token}")
        wait_for(lambda: chrome.execute_script(OPENED, NOTEBOOK), APP_LOAD_SECONDS, f"JupyterLab to open {NOTEBOOK}")
        kernel = wait_for(lambda: (lambda k: k if k and k["status"] == "idle" else None)(
            chrome.execute_script(KERNEL_STATE)), KERNEL_READY_SECONDS, "the notebook's kernel to be idle")
        assert chrome.execute_script("return window.jupyterapp.commands.hasCommand('runmenu:run-all')")
        chrome.execute_script("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        wait_for(lambda: chrome.execute_script(PROGRESS)["counted"] == 0, 30, "the stored outputs to be cleared")
        started = time.monotonic()
        chrome.execute_script("window.jupyterapp.commands.execute('runmenu:run-all')")

        def finished():
            state = chrome.execute_script(PROGRESS)
            complete = state["counted"] == state["cells"] or state["errors"]
            return state if complete and not state["running"] and state["kernel"] == "idle" else None

        state = wait_for(finished, RUN_ALL_SECONDS, "Run All to finish", step=2)
        state["seconds"] = round(time.monotonic() - started, 1)
        print(f"Run All of {NOTEBOOK}: {state['seconds']} s for {state['cells']} code cells")
        screenshot(chrome, "lab-04-after-run-all")
        state["kernel_spec"] = kernel
        state["crepe"] = chrome.execute_async_script(CRE_FILE)
        yield chrome, state
    finally:
        chrome.quit()


def test_lab_opens_04_with_the_workshop_kernel(run_all):
    _, state = run_all
    spec = json.loads(KERNEL_SPEC.read_text())
    assert (state["kernel_spec"]["name"], state["kernel_spec"]["display"]) == (KERNEL, spec["display_name"])


def test_lab_kernel_imports_this_checkouts_crepe(run_all):
    _, state = run_all
    assert Path(state["crepe"]).resolve() == ROOT / "crepe" / "__init__.py", state["crepe"]


def test_run_all_of_04_shows_no_error(run_all):
    _, state = run_all
    assert state["errors"] == [] and state["counted"] == state["cells"], state


def test_live_prediction_cell_shows_a_text_box(run_all):
    chrome, _ = run_all
    cell = chrome.execute_script(LIVE_CELL)
    assert cell is not None, "no cell makes a widgets.Text"
    boxes = cell.find_elements("css selector", ".widget-text input[type='text']")
    assert len(boxes) == 1 and boxes[0].is_displayed()


def test_live_prediction_redraws_after_a_headline_and_enter(run_all):
    from selenium.webdriver.common.keys import Keys

    chrome, _ = run_all
    cell = chrome.execute_script(LIVE_CELL)
    box = cell.find_element("css selector", ".widget-text input[type='text']")
    before = wait_for(lambda: chrome.execute_script(WIDGET_OUTPUT, cell), REDRAW_SECONDS, "the first picture")
    assert "image" in before, before
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(HEADLINE, Keys.ENTER)                 # replaces the selected text, then Enter
    after = wait_for(lambda: (lambda now: now if now and now != before else None)(
        chrome.execute_script(WIDGET_OUTPUT, cell)), REDRAW_SECONDS, "the picture to redraw")
    screenshot(chrome, "lab-04-live-box-after-enter")
    assert box.get_attribute("value") == HEADLINE and "image" in after, after
