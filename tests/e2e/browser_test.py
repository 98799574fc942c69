"""The plant's screens in a real browser (issue 13): headless Chromium from Debian, driven by its
chromedriver, opens the screens `plantwatch collect` serves with `[api] browser = true`.

Run by tests/e2e/run.sh (`python browser_test.py`) with:
  PLANTWATCH_E2E_BIN   the production plantwatch binary (it carries the UI bundle)
  PLANTWATCH_E2E_OUT   where screenshots go
  PLANTWATCH_E2E_WORK  a scratch folder
Starts what it needs and stops it, also on failure: `plantwatch simulate` (the demo lift station),
`plantwatch users add` (an admin, made with the real CLI), `plantwatch collect` on the demo plant with
`[api]` and `browser = true`, and chromedriver. Checks, as a plant engineer on another PC would see it:
  - the page shows the plant and live values that change, without signing in (screenshot);
  - the window-only screens (plant files, workbench) and the plant menu are absent;
  - no write control anywhere until sign-in; a command sent without a sign-in is refused and audited;
  - signed in, the user's role brings the write control; a write lands on the simulator (read back
    through the API's own values) and appears in the audit trail under that user (screenshot);
  - what only a window may do (open a plant file) is refused with 404.
Prints `PASS name` lines or `FAIL name: why` and exits 0 or 1.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from e2e_support import by_test_id
from e2e_support import wait_for as support_wait_for

BIN = os.environ["PLANTWATCH_E2E_BIN"]
OUT = os.environ["PLANTWATCH_E2E_OUT"]
WORK = os.environ["PLANTWATCH_E2E_WORK"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "browser-secret"


def wait_for(what, check, timeout=30.0):
    return support_wait_for(what, check, timeout)


def shot(driver, name):
    os.makedirs(OUT, exist_ok=True)
    time.sleep(0.3)
    driver.save_screenshot(os.path.join(OUT, f"browser_{name}.png"))


def go(driver, screen):
    driver.find_element(By.CSS_SELECTOR, f'nav.screens button[data-screen="{screen}"]').click()
    wait_for(f"the {screen} screen", lambda: by_test_id(driver, f"screen-{screen}"))


def line_of(path, pattern, process, timeout=30.0):
    """The first match of `pattern` in a log file a process writes, waiting for it."""

    def found():
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[1]} exited ({process.returncode}):\n{open(path).read()}")
        m = re.search(pattern, open(path).read())
        return m and m.group(1)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in {path} within {timeout:.0f} s:\n{open(path).read()}")


def http(url, body=None, token=None):
    """A request with the standard library: status and parsed JSON."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    def parsed(body, headers):
        return json.loads(body or b"null") if "json" in headers.get("content-type", "") else body

    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, parsed(r.read(), r.headers), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, parsed(e.read(), e.headers), dict(e.headers)


class Plant:
    """The simulator, the admin and the collector serving the screens; stopped in `stop`."""

    def __init__(self):
        self.processes = []
        os.makedirs(WORK, exist_ok=True)
        sim_log = os.path.join(WORK, "simulate.log")
        sim = subprocess.Popen([BIN, "simulate", "--listen", "127.0.0.1:0"], stdout=open(sim_log, "w"), stderr=subprocess.STDOUT)
        self.processes.append(sim)
        port = line_of(sim_log, r"on tcp 127\.0\.0\.1:(\d+)", sim)
        text = open(os.path.join(ROOT, "assets", "demo-plant.toml")).read()
        text = text.replace("port = 5020", f"port = {port}").replace("poll_ms = 1000", "poll_ms = 250")
        # The pictures live beside the demo plant in the repository.
        text = text.replace('file = "screens/', f'file = "{ROOT}/assets/screens/')
        text += '\n[api]\nlisten = "127.0.0.1:0"\nbrowser = true\n'
        self.config = os.path.join(WORK, "plant.toml")
        open(self.config, "w").write(text)
        self.db = os.path.join(WORK, "plant.db")
        added = subprocess.run([BIN, "users", "--db", self.db, "add", "ada", "--role", "admin"], input=f"{PASSWORD}\n", text=True, capture_output=True, timeout=60)
        assert added.returncode == 0, f"users add: {added.stderr}"
        collect_log = os.path.join(WORK, "collect.log")
        collect = subprocess.Popen([BIN, "collect", self.config, "--db", self.db], stdout=subprocess.DEVNULL, stderr=open(collect_log, "w"))
        self.processes.append(collect)
        self.collect = collect
        self.url = line_of(collect_log, r" screens: (\S+)", collect)
        self.api = line_of(collect_log, r" api: (\S+)", collect)

    def audit(self):
        out = subprocess.run([BIN, "audit", "--db", self.db, "--format", "csv"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"audit: {out.stderr}"
        return out.stdout

    def stop(self):
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800", "--lang=en-US"):
        options.add_argument(arg)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def test_read_only_screens_with_live_values(driver, plant):
    driver.get(plant.url)
    wait_for("the page to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    name = by_test_id(driver, "plant-name")[0].get_attribute("textContent")
    assert "Lift station" in name or "lift" in name.lower(), f"the plant's name in the header, got {name!r}"
    go(driver, "overview")
    wait_for("device cards", lambda: by_test_id(driver, "device-card"))
    wait_for("a device online", lambda: driver.find_elements(By.CSS_SELECTOR, ".state-online"))
    first = wait_for("live key values", lambda: (v := [e.text for e in by_test_id(driver, "key-value")]) and all(x not in ("", "—") for x in v) and v)
    wait_for("the key values to change", lambda: [e.text for e in by_test_id(driver, "key-value")] != first, timeout=30)
    shot(driver, "live_values_read_only")
    shown = {b.get_attribute("data-screen") for b in driver.find_elements(By.CSS_SELECTOR, "nav.screens button")}
    assert "plant" not in shown and "workbench" not in shown, f"the window-only screens are not offered in a browser: {sorted(shown)}"
    assert {"overview", "tags", "trends", "alarms", "devices"} <= shown, f"the plant's screens are: {sorted(shown)}"
    assert not by_test_id(driver, "plant-menu"), "no plant menu in a browser"
    assert not by_test_id(driver, "write-control"), "nobody signed in: no write control on the overview"
    go(driver, "tags")
    by_test_id(driver, "tag-search")[0].send_keys("start_level")
    wait_for("start level rows", lambda: by_test_id(driver, "tag-row"))
    assert not by_test_id(driver, "write-open"), "nobody signed in: no write control on the tags screen"


def test_a_write_without_sign_in_is_refused_and_audited(driver, plant):
    status, info, _ = http(plant.url + "ui/call/plant_info", {})
    assert status == 200, f"plant_info: {status} {info}"
    tag = next(t for t in info["tags"] if t["id"].endswith("start_level") and t.get("write"))
    status, result, _ = http(plant.url + "ui/call/write_tag", {"request": {"tag": tag["index"], "value": 1.0, "comment": None}})
    assert status == 200 and result["result"] == "denied", f"an anonymous write is denied, got {status} {result}"
    audit = plant.audit()
    assert "denied" in audit, f"the refused write is in the audit trail:\n{audit}"
    status, body, _ = http(plant.url + "ui/call/open_plant", {"path": "/etc/passwd"})
    assert status == 404 and body["code"] == "notFound", f"a window-only command is refused: {status} {body}"
    status, body, _ = http(plant.url + "ui/sign-in", {"name": "ada", "password": "wrong"})
    assert status == 401 and body["code"] == "signInFailed", f"a wrong password: {status} {body}"
    status, page, headers = http(plant.url)
    csp = {k.lower(): v for k, v in headers.items()}.get("content-security-policy", "")
    assert status == 200 and "connect-src 'self'" in csp and "script-src 'self'" in csp, f"the page's policy: {csp!r}"
    assert b"http-equiv" not in page.lower(), "the window's own policy tag is not sent to browsers"


def test_signed_in_the_role_brings_the_write_control(driver, plant):
    driver.get(plant.url)
    wait_for("the page to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    wait_for("the sign-in button", lambda: by_test_id(driver, "sign-in"))[0].click()
    wait_for("the sign-in form", lambda: by_test_id(driver, "sign-in-name"))[0].send_keys("ada")
    by_test_id(driver, "sign-in-password")[0].send_keys(PASSWORD + Keys.ENTER)
    wait_for("ada signed in", lambda: "ada" in by_test_id(driver, "session-user")[0].text)
    go(driver, "tags")
    by_test_id(driver, "tag-search")[0].send_keys("start_level")
    openers = wait_for("a writable start level", lambda: [b for b in by_test_id(driver, "write-open") if "start_level" in b.get_attribute("aria-label")])
    opener = next((b for b in openers if "lead" in b.get_attribute("aria-label")), openers[0])
    tag_id = opener.get_attribute("aria-label").removeprefix("Write ")
    driver.execute_script("arguments[0].click()", opener)
    panel_value = wait_for("the write panel with a value", lambda: (v := by_test_id(driver, "write-panel-value")) and v[0].text.strip() not in ("", "—") and v[0])
    old = float(panel_value.text.split()[0])
    low, high = (float(x) for x in by_test_id(driver, "write-range")[0].text.replace("–", " ").split()[:2])
    step = round(0.15 * (high - low), 1)
    new = round(old - step, 1) if old - step >= low else round(old + step, 1)
    print(f"  {tag_id}: {old} -> {new}")
    by_test_id(driver, "write-entry")[0].send_keys(f"{new}" + Keys.ENTER)
    wait_for("the confirmation", lambda: by_test_id(driver, "confirm-text"))
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    result = wait_for("the write's result", lambda: (r := by_test_id(driver, "write-result")) and r[0])
    assert result.get_attribute("data-result") == "done", f"the write is done, got {result.text!r}"
    wait_for(f"the new value {new} on screen", lambda: abs(float(by_test_id(driver, "write-panel-value")[0].text.split()[0]) - new) < 1e-6, timeout=15)
    shot(driver, "signed_in_write_done")
    audit = plant.audit()
    rows = [r for r in audit.splitlines() if tag_id in r and "ada" in r and "done" in r]
    assert rows, f"the write is in the audit trail under ada:\n{audit}"
    go(driver, "audit")
    wait_for("the audit screen lists the write", lambda: any(r.get_attribute("data-target") == tag_id for r in by_test_id(driver, "audit-row")))
    by_test_id(driver, "sign-out")[0].click()
    wait_for("signed out", lambda: by_test_id(driver, "sign-in"))
    assert not by_test_id(driver, "write-control"), "no write control once signed out"


TESTS = [
    test_read_only_screens_with_live_values,
    test_a_write_without_sign_in_is_refused_and_audited,
    test_signed_in_the_role_brings_the_write_control,
]


def main():
    failed = 0
    plant = None
    driver = None
    try:
        plant = Plant()
        driver = chromium()
        driver.implicitly_wait(0)
        for test in TESTS:
            try:
                test(driver, plant)
                print(f"PASS browser::{test.__name__}")
            except Exception as e:
                failed += 1
                print(f"FAIL browser::{test.__name__}: {e}")
                traceback.print_exc(file=sys.stderr)
                try:
                    shot(driver, f"FAILED-{test.__name__}")
                except Exception:
                    pass
    except Exception as e:
        failed += 1
        print(f"FAIL browser::setup: {e}")
        traceback.print_exc(file=sys.stderr)
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        if plant is not None:
            plant.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
