"""End-to-end tests of the real Plantwatch window, driven through tauri-driver and WebKitWebDriver.

Run one test per app launch: `python desktop_test.py TEST_NAME` (tests/e2e/run.sh starts Xvfb and a
tauri-driver with the environment each test needs, then calls this). Environment:
  PLANTWATCH_E2E_BIN      the production plantwatch binary (absolute path)
  PLANTWATCH_E2E_DRIVER   tauri-driver's URL, e.g. http://127.0.0.1:4444
  PLANTWATCH_E2E_OUT      where screenshots go
  PLANTWATCH_E2E_WORK     a scratch folder of this test (broken plant files live here)
Prints `PASS name` or `FAIL name: why` and exits 0 or 1.
"""

import json
import os
import re
import subprocess
import sys
import time
import traceback

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support.ui import Select

from e2e_support import by_test_id, wait_for

BIN = os.environ["PLANTWATCH_E2E_BIN"]
DRIVER = os.environ["PLANTWATCH_E2E_DRIVER"]
OUT = os.environ["PLANTWATCH_E2E_OUT"]
WORK = os.environ["PLANTWATCH_E2E_WORK"]


class TauriOptions(ArgOptions):
    """tauri-driver's capabilities: which application to launch."""

    def to_capabilities(self):
        return {"browserName": "wry", "tauri:options": {"application": BIN}}


def plant_name(driver):
    """The header's plant name. Read as textContent: WebKitWebDriver's visible text of the header's first
    grid cell comes back empty beside the Plant menu (a <details>) although the name is drawn."""
    return by_test_id(driver, "plant-name")[0].get_attribute("textContent")


def go(driver, screen):
    """Opens a screen from the navigation. The click is repeated when the screen has not come after a
    few seconds: on a loaded machine a click can land while the page is still re-rendering after a plant
    switch, and a user would simply click again."""
    for attempt in range(4):
        driver.find_element(By.CSS_SELECTOR, f'nav.screens button[data-screen="{screen}"]').click()
        try:
            wait_for(f"the {screen} screen", lambda: by_test_id(driver, f"screen-{screen}"), timeout=5 if attempt < 3 else 20)
            return
        except AssertionError:
            if attempt == 3:
                raise


def shot(driver, name):
    """Saves a screenshot of the X display (WebKitWebDriver's own screenshot can hang with compositing off)."""
    os.makedirs(OUT, exist_ok=True)
    time.sleep(0.3)  # let the last change paint
    subprocess.run(["import", "-window", "root", os.path.join(OUT, f"{name}.png")], check=True, timeout=20)


def on_overview(driver):
    """The demo plant opens on its picture (issue 16): waits for the start to finish, then opens the Overview."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    go(driver, "overview")
    wait_for("the plant", lambda: by_test_id(driver, "device-card"))


def key_values(driver):
    return [e.text for e in by_test_id(driver, "key-value")]


# --- the tests ---------------------------------------------------------------------------------------


def test_starts_on_the_simulated_plant(driver):
    on_overview(driver)
    name = wait_for("the plant's name", lambda: plant_name(driver).strip() not in ("", "Plantwatch") and plant_name(driver))
    assert "simulated" in name, f"the title should say the plant is simulated, got {name!r}"
    cards = wait_for("device cards", lambda: by_test_id(driver, "device-card"))
    assert len(cards) >= 4, f"the lift station has a PLC, two drives and a meter; saw {len(cards)} cards"
    wait_for("a device online", lambda: driver.find_elements(By.CSS_SELECTOR, ".state-online"))
    shot(driver, "starts_on_the_simulated_plant")


def test_live_values_change_on_the_overview(driver):
    on_overview(driver)
    first = wait_for("key tags with values", lambda: (v := key_values(driver)) and all(not x.startswith("—") for x in v) and v)
    changed = wait_for("a key value to change", lambda: (v := key_values(driver)) != first and v, timeout=30)
    assert len(changed) == len(first)
    shot(driver, "live_values_change_on_the_overview")


def test_the_tags_screen_filters(driver):
    on_overview(driver)
    go(driver, "tags")
    count = by_test_id(driver, "tag-count")[0]
    total = int(count.text.split(" of ")[1].split()[0])
    assert total > 20, f"the demo plant has many tags, saw {total}"
    search = by_test_id(driver, "tag-search")[0]
    search.send_keys("level")
    wait_for("the list to shrink", lambda: int(count.text.split()[0]) < total)
    rows = by_test_id(driver, "tag-row")
    assert rows, "some tag matches 'level'"
    for r in rows:  # rows scrolled out of the box have no visible text: read their whole content
        content = r.get_attribute("textContent").lower()
        assert "level" in content, f"row {r.get_attribute('data-tag')!r} ({content!r}) does not match the search"
    search.send_keys(Keys.BACKSPACE * len("level"))  # typed, so the page sees input events (clear() sends none)
    wait_for("the full list again", lambda: int(count.text.split()[0]) == total)
    Select(by_test_id(driver, "device-filter")[0]).select_by_index(2)  # the second device
    device_rows = wait_for("rows of one device", lambda: (n := int(count.text.split()[0])) < total and n)
    ids = {r.get_attribute("data-tag").split("/")[0] for r in by_test_id(driver, "tag-row")}
    assert len(ids) == 1, f"rows of one device only, saw devices {ids} ({device_rows} rows)"
    # WebKitWebDriver reports no visible text inside the absolutely placed rows: read their content.
    wait_for("live values in the rows", lambda: any(v.get_attribute("textContent") not in ("", "—") for v in by_test_id(driver, "tag-value")))
    shot(driver, "the_tags_screen_filters")


def test_a_trend_opens_with_history(driver):
    on_overview(driver)
    keys = wait_for("key tags", lambda: by_test_id(driver, "key-tag"))
    keys[0].click()  # a key tag opens its trend
    wait_for("the trends screen", lambda: by_test_id(driver, "screen-trends"))

    def samples():
        text = by_test_id(driver, "trend-status")[0].text
        return text.split(" samples")[0].replace(",", "").isdigit() and int(text.split(" samples")[0].replace(",", "")) > 3 and text

    status = wait_for("history samples on the trend", samples, timeout=30)
    chart = by_test_id(driver, "trend-chart")[0]
    assert chart.find_elements(By.CSS_SELECTOR, "canvas"), "the chart is drawn on a canvas"
    legend = chart.text
    assert "/" in legend, f"the legend names the pen, got {legend!r}"
    print(f"  trend: {status}")
    shot(driver, "a_trend_opens_with_history")


def test_a_report_is_previewed_and_saved_as_pdf(driver):
    """Issue 15's Reports screen: the built-in shift report of the simulated plant's last 8 hours is
    previewed (its tables and a chart per device) and saved as a PDF into the export folder."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    on_overview(driver)
    wait_for("a few seconds of history", lambda: by_test_id(driver, "key-value"))
    time.sleep(3)  # time itself is under test: the report needs some stored samples to count
    go(driver, "reports")
    by_test_id(driver, "report-preview")[0].click()
    tables = wait_for("the report's tables", lambda: by_test_id(driver, "report-table"), timeout=60)
    assert len(tables) >= 3, f"statistics, gaps, availability and alarm tables, saw {len(tables)}"
    first = tables[0].text
    assert "plc/level" in first, f"the statistics name the demo's tags: {first[:300]!r}"
    assert by_test_id(driver, "report-chart"), "a chart per device"
    shot(driver, "a_report_is_previewed")
    by_test_id(driver, "report-save-pdf")[0].click()
    status = wait_for("the saved report", lambda: [e.text for e in by_test_id(driver, "report-status") if ".pdf" in e.text], timeout=60)[0]
    path = status.split(" to ", 1)[1].strip()
    with open(path, "rb") as f:
        assert f.read(5) == b"%PDF-", f"{path} is a PDF"
    print(f"  report: {status}")


def test_a_broken_plant_file_shows_its_error(driver):
    on_overview(driver)
    broken = os.path.join(WORK, "broken-plant.toml")
    with open(broken, "w") as f:
        f.write(
            'name = "Broken plant"\n'
            "\n"
            "[[devices]]\n"
            'id = "plc"\n'
            'transport = "tcp"\n'
            'host = "127.0.0.1"\n'
            "port = 1502\n"
            "poll_ms = \"fast\"\n"
        )
    go(driver, "plant")
    path = by_test_id(driver, "plant-path")[0]
    path.clear()
    path.send_keys(broken)
    by_test_id(driver, "open-plant")[0].click()
    error = wait_for("the error message", lambda: by_test_id(driver, "plant-error"))[0].text
    assert "problem" in error, f"the message says the file has problems, got {error!r}"
    problems = wait_for("problems shown in place", lambda: by_test_id(driver, "plant-problem"))
    texts = [p.text for p in problems]
    assert any("line " in t for t in texts), f"each problem names its line, got {texts}"
    name = plant_name(driver)
    assert "simulated" in name, f"the running plant stays open after a broken file, title {name!r}"
    shot(driver, "a_broken_plant_file_shows_its_error")


def test_the_plant_menu_opens_a_file_from_the_system_dialog_and_tags_pin_on_the_overview(driver):
    """Issue 14's small things: the header's plant menu shows the system's open dialog (a GTK window,
    typed into with xdotool as a user would), the chosen file opens and becomes a recent plant, and the
    menu goes back to the simulated plant; a star on the Tags screen pins a tag on the Overview."""
    on_overview(driver)
    chosen = write_dialog_plant()
    by_test_id(driver, "plant-menu")[0].find_element(By.TAG_NAME, "summary").click()
    by_test_id(driver, "menu-open")[0].click()
    choose_in_open_dialog(driver, chosen, "plant_menu")
    wait_for("the chosen plant open", lambda: "Dialog plant" in plant_name(driver), timeout=30)
    by_test_id(driver, "plant-menu")[0].find_element(By.TAG_NAME, "summary").click()
    recent = wait_for("recent plants in the menu", lambda: by_test_id(driver, "menu-recent"))
    assert recent[0].get_attribute("title") == chosen, f"the chosen file is the newest recent plant, got {recent[0].get_attribute('title')!r}"
    shot(driver, "plant_menu_recent_plants")
    by_test_id(driver, "menu-simulated")[0].click()
    wait_for("the simulated plant back", lambda: "simulated" in plant_name(driver), timeout=30)

    go(driver, "tags")
    rows = wait_for("the tag rows", lambda: by_test_id(driver, "tag-row"))
    pressed = {r.get_attribute("data-tag"): r.find_element(By.CSS_SELECTOR, '[data-testid="pin"]').get_attribute("aria-pressed") for r in rows}
    star = lambda tag: driver.find_element(By.CSS_SELECTOR, f'[data-testid="tag-row"][data-tag="{tag}"] [data-testid="pin"]')  # noqa: E731
    # The Overview starts full (it picks 8 tags itself): take one off, then put another on.
    off = next(tag for tag, p in pressed.items() if p == "true")
    on = next(tag for tag, p in pressed.items() if p == "false")
    star(off).click()
    wait_for(f"{off} unpinned", lambda: star(off).get_attribute("aria-pressed") == "false")
    star(on).click()
    wait_for(f"{on} pinned", lambda: star(on).get_attribute("aria-pressed") == "true")
    shot(driver, "a_tag_pinned_on_the_tags_screen")
    go(driver, "overview")
    shown = wait_for("the key tags", lambda: [e.get_attribute("data-tag") for e in by_test_id(driver, "key-tag")])
    assert on in shown and off not in shown, f"the Overview shows {on} instead of {off}, got {shown}"
    shot(driver, "a_pinned_tag_on_the_overview")


def test_an_alarm_is_acknowledged_and_journaled(driver):
    newest = wait_for(
        "an alarm in the banner",
        lambda: (t := by_test_id(driver, "newest-alarm")[0].text) and "No unacknowledged" not in t and "not running" not in t and t,
        timeout=60,
    )
    print(f"  banner: {newest}")
    shot(driver, "alarm_in_the_banner")
    go(driver, "alarms")
    operator = by_test_id(driver, "operator")[0]
    operator.send_keys(Keys.BACKSPACE * len(operator.get_attribute("value")))
    operator.send_keys("e2e-operator")
    operator.send_keys(Keys.TAB)  # commits the name (change event)
    rows = wait_for("unacknowledged rows", lambda: [r for r in by_test_id(driver, "alarm-row") if r.get_attribute("data-state") in ("activeUnacked", "returnedUnacked")])
    alarm_id = rows[0].get_attribute("data-alarm")
    rows[0].find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    by_test_id(driver, "alarm-comment")[0].send_keys("checked on site by e2e")
    by_test_id(driver, "ack-selected")[0].click()
    wait_for("the acknowledgement", lambda: by_test_id(driver, "alarm-action-done"))

    def acked():
        for r in by_test_id(driver, "alarm-row"):
            if r.get_attribute("data-alarm") == alarm_id:
                return r.get_attribute("data-state") == "activeAcked"
        return True  # acknowledged and already cleared: gone from the summary

    wait_for(f"{alarm_id} acknowledged", acked)
    shot(driver, "alarm_acknowledged")
    go(driver, "journal")

    def ack_entry():
        for r in by_test_id(driver, "journal-row"):
            if r.get_attribute("data-state") == "acknowledged" and "e2e-operator" in r.text:
                return r.text
        return None

    entry = wait_for("the journal to show who acknowledged", ack_entry, timeout=20)
    assert "checked on site by e2e" in entry, f"the comment is journaled, got {entry!r}"
    shot(driver, "journal_shows_who_acknowledged")


def desktop_notifications():
    """(title, body) of every notification the desktop's notification server (dunst, started by run.sh
    for this test alone) has received, oldest first."""
    # Shown notifications reach dunst's history once closed.
    subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)
    out = subprocess.run(["dunstctl", "history"], check=True, timeout=10, capture_output=True, text=True).stdout
    history = json.loads(out)["data"][0]
    return [(n["summary"]["data"], n["body"]["data"]) for n in reversed(history)]


def alarm_state(driver, alarm_id):
    for r in by_test_id(driver, "alarm-row"):
        if r.get_attribute("data-alarm") == alarm_id:
            return r.get_attribute("data-state")
    return None


def test_a_high_alarm_shows_a_desktop_notification(driver):
    on_overview(driver)
    # The gas-flood scenario pushes H2S over its 10 ppm HI (high priority) within seconds.
    def h2s_notified():
        return [n for n in desktop_notifications() if n[0] in ("HIGH alarm: plc/h2s", "CRITICAL alarm: plc/h2s")]

    title, body = wait_for("a desktop notification for plc/h2s", h2s_notified, timeout=60)[0]
    print(f"  notification: {title} | {body}")
    assert re.fullmatch(r"H2S above 10 ppm: value 1\d(\.\d)? \(limit 10\)", body), f"the body gives the message, value and limit, got {body!r}"
    assert all(t.split(" alarm: ")[0] in ("CRITICAL", "HIGH") for t, _ in desktop_notifications()), "only critical and high alarms notify"
    shot(driver, "alarm_notified")

    # Switched off, a new activation of the same alarm notifies no more.
    go(driver, "alarms")
    toggle = wait_for("the notification setting", lambda: by_test_id(driver, "notify-toggle"))[0]
    assert toggle.get_attribute("aria-pressed") == "true", "notifications are on by default"
    toggle.click()
    wait_for("the setting to show off", lambda: toggle.get_attribute("aria-pressed") == "false")
    before = len(desktop_notifications())
    wait_for("plc/h2s:hi to clear", lambda: alarm_state(driver, "plc/h2s:hi") in ("returnedUnacked", None), timeout=60)
    wait_for("plc/h2s:hi to trip again", lambda: alarm_state(driver, "plc/h2s:hi") == "activeUnacked", timeout=60)
    # The notification would go out with the same change that reached the page; give it a moment.
    time.sleep(2)
    after = desktop_notifications()
    assert len(after) == before, f"no notification while the setting is off, got {after[before:]!r}"


def sign_in(driver, name, password):
    """Signs in from the header, typing like a user (Enter submits the form)."""
    wait_for("the sign-in button", lambda: by_test_id(driver, "sign-in"))[0].click()
    field = wait_for("the sign-in form", lambda: by_test_id(driver, "sign-in-name"))[0]
    field.send_keys(name)
    by_test_id(driver, "sign-in-password")[0].send_keys(password + Keys.ENTER)
    wait_for(f"{name} signed in", lambda: name in by_test_id(driver, "session-user")[0].text)


def test_an_operator_writes_the_start_level(driver):
    """Issue 10's acceptance: sign in, change the demo's start level, confirm, see `done` and the new
    value; the Audit screen shows the entry; sign out, and the write controls are gone. run.sh made the
    admin anna (password `e2e-secret`) with `plantwatch users add` before the app started."""
    on_overview(driver)
    assert not by_test_id(driver, "write-control"), "nobody is signed in: no write controls"
    sign_in(driver, "anna", "e2e-secret")
    go(driver, "tags")
    by_test_id(driver, "tag-search")[0].send_keys("start_level")
    openers = wait_for(
        "a writable start level",
        lambda: [b for b in by_test_id(driver, "write-open") if "start_level" in b.get_attribute("aria-label")],
    )
    # The lead pump's start level when there is one (the demo plant has a lead and a lag start level).
    opener = next((b for b in openers if "lead" in b.get_attribute("aria-label")), openers[0])
    tag_id = opener.get_attribute("aria-label").removeprefix("Write ")
    # Rows are placed absolutely: WebKitWebDriver may not see them as clickable, the page does.
    driver.execute_script("arguments[0].click()", opener)
    panel_value = wait_for("the write panel with a value", lambda: (v := by_test_id(driver, "write-panel-value")) and v[0].text.strip() not in ("", "—") and v[0])
    old = float(panel_value.text.split()[0])
    low, high = (float(x) for x in by_test_id(driver, "write-range")[0].text.replace("–", " ").split()[:2])
    # A change of 15 % of the range (over 10 %, so the confirmation is due), down when there is room, to
    # stay in the controller's order (stop < lead start <= lag start); one decimal the device holds exactly.
    step = round(0.15 * (high - low), 1)
    new = round(old - step, 1) if old - step >= low else round(old + step, 1)
    print(f"  {tag_id}: {old} -> {new} (range {low}..{high})")
    entry = by_test_id(driver, "write-entry")[0]
    entry.send_keys(f"{new}" + Keys.ENTER)  # keyboard only: Enter asks, Enter on the focused button confirms
    confirm = wait_for("the confirmation", lambda: by_test_id(driver, "confirm-text"))[0].text
    assert tag_id in confirm and f"{new:g}" in confirm, f"the confirmation names the tag and the new value, got {confirm!r}"
    shot(driver, "write_confirmation")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    result = wait_for("the write's result", lambda: (r := by_test_id(driver, "write-result")) and r[0])
    assert result.get_attribute("data-result") == "done", f"the write is done, got {result.text!r} ({result.get_attribute('title')!r})"
    assert result.text.startswith("done"), f"the result says done, got {result.text!r}"
    wait_for(f"the new value {new} on screen", lambda: abs(float(by_test_id(driver, "write-panel-value")[0].text.split()[0]) - new) < 1e-6, timeout=15)
    shot(driver, "write_done")

    go(driver, "audit")

    def audited():
        for r in by_test_id(driver, "audit-row"):
            if r.get_attribute("data-action") == "write" and r.get_attribute("data-target") == tag_id:
                return r.text
        return None

    entry_text = wait_for("the write in the audit trail", audited, timeout=15)
    assert "anna" in entry_text and "done" in entry_text, f"the audit entry names the user and result, got {entry_text!r}"
    shot(driver, "audit_shows_the_write")

    by_test_id(driver, "sign-out")[0].click()
    wait_for("signed out", lambda: by_test_id(driver, "sign-in"))
    wait_for("the audit screen closed", lambda: by_test_id(driver, "screen-overview"))
    assert not driver.find_elements(By.CSS_SELECTOR, 'nav.screens button[data-screen="audit"]'), "the audit is for engineers and admins"
    assert not by_test_id(driver, "write-control"), "no write controls on the overview once signed out"
    go(driver, "tags")
    by_test_id(driver, "tag-search")[0].send_keys("start_level")
    wait_for("start level rows", lambda: by_test_id(driver, "tag-row"))
    assert not by_test_id(driver, "write-open"), "no write controls on the tags screen once signed out"
    shot(driver, "signed_out_no_write_controls")


# --- process pictures (issue 16) ---------------------------------------------------------------------

WELL_BOTTOM, WELL_HEIGHT, WELL_METRES = 540.0, 360.0, 4.0  # assets/screens/station.svg's wet well


def picture(driver):
    """The picture shown, once its bindings are applied."""
    return wait_for("the picture", lambda: (p := driver.find_elements(By.CSS_SELECTOR, '[data-testid="picture"][data-ready="true"]')) and p[0])


def well(driver):
    """(level text, water height, water y) read in one go from the DOM."""
    return driver.execute_script(
        "const w = document.getElementById('well-water'), t = document.getElementById('level-value');"
        "return [t.firstChild.textContent, Number(w.getAttribute('height')), Number(w.getAttribute('y'))];"
    )


def test_the_home_screen_is_the_lift_station(driver):
    """The simulated plant opens on its picture; the wet well's water follows plc/level."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    wait_for("the Screens screen as home", lambda: by_test_id(driver, "screen-screens"))
    assert picture(driver).get_attribute("data-screen-id") == "station"
    current = driver.find_element(By.CSS_SELECTOR, 'nav.screens button[aria-current="page"]').get_attribute("data-screen")
    assert current == "screens", f"the navigation marks Screens, got {current!r}"

    def follows():
        text, height, y = well(driver)
        if not text.endswith(" m"):
            return None
        level = float(text.split()[0])
        expected = WELL_HEIGHT * min(1.0, max(0.0, level / WELL_METRES))
        # The text shows two decimals: half a centimetre of level is 0.45 px of water.
        assert abs(height - expected) <= 0.5, f"level {level} m should draw {expected:.1f} px of water, the DOM has {height}"
        assert abs(y + height - WELL_BOTTOM) < 1e-6, f"the water rises from the floor: y {y} + height {height}"
        return (level, height)

    first = wait_for("the level drawn", follows)
    print(f"  level {first[0]} m -> water {first[1]:.1f} px")
    shot(driver, "home_screen_is_the_lift_station")
    later = wait_for("the level to move", lambda: (r := follows()) and r[0] != first[0] and r, timeout=60)
    print(f"  level {later[0]} m -> water {later[1]:.1f} px")


def test_a_pump_turns_red_when_it_trips(driver):
    """The pump-trip scenario trips pump 1's drive: its body is drawn red and the trip text shows."""
    picture(driver)
    red = "rgb(221, 34, 34)"  # #d22, the picture's tripped colour
    fill = lambda: driver.execute_script("return getComputedStyle(document.getElementById('pump1-body')).fill")
    before = wait_for("pump 1 drawn", fill)
    assert before != red, f"pump 1 is not tripped at the start, drawn {before}"
    wait_for("pump 1 red", lambda: fill() == red, timeout=120)
    shown = driver.execute_script("return getComputedStyle(document.getElementById('pump1-trip')).display")
    assert shown != "none", "the 'Pump 1 tripped' text is shown"
    shot(driver, "pump_turns_red_when_it_trips")


def test_a_click_on_the_picture_opens_the_trend(driver):
    picture(driver)
    flow = wait_for("the flow reading", lambda: driver.find_element(By.ID, "flow-value"))
    wait_for("a flow value", lambda: flow.text.endswith("L/s"))
    try:
        flow.click()
    except Exception:  # WebKitWebDriver may refuse to click SVG text; the page's own click is the same event
        driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", flow)
    wait_for("the trends screen", lambda: by_test_id(driver, "screen-trends"))
    legend = wait_for("the flow's pen", lambda: (c := by_test_id(driver, "trend-chart")) and "plc/flow" in c[0].text and c[0].text)
    print(f"  trend legend: {legend[:60]!r}")
    shot(driver, "click_on_the_picture_opens_the_trend")


def test_a_hostile_picture_runs_nothing(driver):
    """tests/data/graphics/hostile.svg (script, onload, onclick, foreignObject, XHTML script, javascript:
    link, href animation, external references) opened as a plant's picture: nothing of it runs."""
    import shutil

    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "graphics")
    for name in ("hostile.toml", "hostile.svg"):
        shutil.copy(os.path.join(data, name), WORK)
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    go(driver, "plant")
    path = by_test_id(driver, "plant-path")[0]
    path.clear()
    path.send_keys(os.path.join(WORK, "hostile.toml"))
    by_test_id(driver, "open-plant")[0].click()
    wait_for("the hostile plant open", lambda: "Picture test plant" in plant_name(driver))
    go(driver, "screens")
    shown = picture(driver)
    assert shown.get_attribute("data-screen-id") == "hostile"
    for target in ("rect", "a", "text"):
        for el in shown.find_elements(By.CSS_SELECTOR, target):
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", el)
    time.sleep(1)  # a script would have run by now: the clicks and the load are synchronous events
    marks = driver.execute_script("return document.documentElement.getAttribute('data-pwned')")
    assert marks is None, f"a script of the hostile picture ran: {marks!r}"
    inside = shown.get_attribute("innerHTML").lower()
    for banned in ("<script", "onload", "onclick", "foreignobject", "javascript:", "evil.example"):
        assert banned not in inside, f"{banned!r} reached the page"
    shot(driver, "hostile_picture_runs_nothing")


# --- languages and window sizes (issue 14) -------------------------------------------------------------

# A word of each language's navigation, to know the switch took effect.
LANGUAGE_MARK = {"en": "Overview", "zh-CN": "总览"}
SIZES = [(1280, 800), (1024, 768)]


def set_window_size(driver, width, height):
    """Sizes the window's page to width x height CSS pixels (no window manager: outer = inner size)."""
    driver.set_window_rect(x=0, y=0, width=width, height=height)
    wait_for(
        f"a {width}x{height} window",
        lambda: driver.execute_script("return [window.innerWidth, window.innerHeight]") == [width, height],
    )


def window_shot(driver, name):
    """A screenshot of the window alone: the X display cropped to the window's rectangle."""
    rect = driver.get_window_rect()
    time.sleep(0.3)  # let the last change paint
    path = os.path.join(OUT, f"{name}.png")
    crop = f"{rect['width']}x{rect['height']}+{rect['x']}+{rect['y']}"
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", path], check=True, timeout=20)
    return path


def choose_language(driver, language):
    Select(by_test_id(driver, "language")[0]).select_by_value(language)
    mark = LANGUAGE_MARK[language]
    wait_for(f"the navigation in {language}", lambda: mark in driver.find_element(By.CSS_SELECTOR, "nav.screens").text)
    assert driver.execute_script("return document.documentElement.lang") == language


def navigation_rows(driver):
    """How many rows the navigation's buttons take, and the navigation's height against one button's."""
    return driver.execute_script(
        """
        const nav = document.querySelector('nav.screens');
        const buttons = [...nav.querySelectorAll('button')];
        const tops = new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top)));
        return { rows: tops.size, nav: nav.getBoundingClientRect().height, button: buttons[0].getBoundingClientRect().height,
                 buttons: buttons.length };
        """
    )


def test_every_screen_in_both_languages_and_sizes(driver):
    """Issue 14's acceptance: every screen in English and Simplified Chinese at 1280x800 and 1024x768
    (screenshots in tests/out/e2e/, named screen-ID-LANGUAGE-WxH.png); the navigation is one row at 1280 px
    in both languages, and no screen is wider than the window at either size. Signed in as the admin
    run.sh made, so the Audit screen is there too."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    sign_in(driver, "anna", "e2e-secret")
    screens = [b.get_attribute("data-screen") for b in driver.find_elements(By.CSS_SELECTOR, "nav.screens button")]
    assert len(screens) == 12, f"every screen with the demo's pictures and an admin's audit, saw {screens}"
    for width, height in SIZES:
        set_window_size(driver, width, height)
        for language in ("en", "zh-CN"):
            choose_language(driver, language)
            nav = navigation_rows(driver)
            print(f"  {width}x{height} {language}: navigation {nav}")
            if width == 1280:
                assert nav["rows"] == 1 and nav["nav"] < 1.5 * nav["button"], f"the navigation is one row at 1280 px in {language}: {nav}"
            for screen in screens:
                go(driver, screen)
                if screen == "overview":
                    wait_for("the overview's values", lambda: by_test_id(driver, "key-value"))
                elif screen == "screens":
                    wait_for("the picture", lambda: driver.execute_script("return document.querySelector('[data-testid=picture]')?.dataset.ready") == "true")
                wide = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert wide <= 0, f"the {screen} screen is {wide} px wider than a {width} px window in {language}"
                window_shot(driver, f"screen-{screen}-{language}-{width}x{height}")
    # The choice was saved: the last one chosen is the one the settings hold.
    settings = json.load(open(os.path.join(WORK, "data", "settings.json")))
    assert settings.get("language") == "zh-CN", f"the language is saved, settings say {settings.get('language')!r}"


def test_notifications_and_alarms_in_chinese(driver):
    """In Chinese, a new H2S alarm notifies with a Chinese title and the demo plant's message_zh, and the
    alarm summary shows it in Chinese (gas-flood: H2S trips its HI, clears and trips again)."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    choose_language(driver, "zh-CN")
    go(driver, "alarms")
    # The first activation may have gone out before the switch: wait for the next one.
    wait_for("plc/h2s:hi to trip", lambda: alarm_state(driver, "plc/h2s:hi") == "activeUnacked", timeout=60)
    before = len(desktop_notifications())
    wait_for("plc/h2s:hi to clear", lambda: alarm_state(driver, "plc/h2s:hi") in ("returnedUnacked", None), timeout=90)
    wait_for("plc/h2s:hi to trip again", lambda: alarm_state(driver, "plc/h2s:hi") == "activeUnacked", timeout=90)

    def chinese_h2s():
        return [n for n in desktop_notifications()[before:] if n[0] == "高优先级报警：plc/h2s"]

    title, body = wait_for("a Chinese notification for plc/h2s", chinese_h2s, timeout=20)[0]
    print(f"  notification: {title} | {body}")
    assert re.fullmatch(r"硫化氢超过 10 ppm：数值 1\d(\.\d)?（限值 10）", body), f"the plant's message_zh, value and limit, got {body!r}"
    row = next(r for r in by_test_id(driver, "alarm-row") if r.get_attribute("data-alarm") == "plc/h2s:hi")
    text = row.get_attribute("textContent")
    assert "硫化氢超过 10 ppm" in text and "高限" in text and "报警中" in text, f"the alarm row in Chinese, got {text!r}"
    window_shot(driver, "alarms-in-chinese-with-an-active-alarm")


def xdotool(*args, timeout=20):
    return subprocess.run(["xdotool", *args], check=True, timeout=timeout, capture_output=True, text=True).stdout


def write_dialog_plant():
    """A plant file to choose in the open dialog ("Dialog plant", one device that is not there)."""
    path = os.path.join(WORK, "dialog-plant.toml")
    with open(path, "w") as f:
        f.write(
            '[plant]\nname = "Dialog plant"\n[history]\npath = "dialog-plant.db"\n'
            '[[devices]]\nid = "plc"\ntransport = "tcp"\nhost = "127.0.0.1"\nport = 1502\n'
            '[[devices.tags]]\nid = "level"\ntable = "input"\naddress = 0\ntype = "u16"\n'
        )
    return path


OPEN_DIALOG = "Open a plant file"


def open_dialog_shown():
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{OPEN_DIALOG}$"], capture_output=True, text=True)
    return found.stdout.split() if found.returncode == 0 else []


def choose_in_open_dialog(driver, path, shots):
    """Types `path` into the system's open dialog (GTK's file chooser, titled in the window's language)
    as a user would, and accepts it. No window manager runs under Xvfb: the dialog is given the keyboard
    focus first. Screenshots `<shots>_system_dialog` and `<shots>_after_the_dialog`."""
    dialog = wait_for("the system's open dialog", open_dialog_shown)[0]
    time.sleep(0.5)
    xdotool("windowfocus", "--sync", dialog)
    xdotool("key", "--delay", "100", "ctrl+l")
    xdotool("type", "--delay", "20", path)
    shot(driver, f"{shots}_system_dialog")
    # The first Return may only take the location entry's completion; Return again opens.
    for _ in range(3):
        if not open_dialog_shown():
            break
        xdotool("key", "Return")
        time.sleep(1.0)
    shot(driver, f"{shots}_after_the_dialog")
    assert not open_dialog_shown(), "the dialog closed on Return"


def test_the_open_dialog_opens_a_plant_file(driver):
    """Browse… on Plant files shows the native (GTK) open dialog, titled in the window's language; a plant
    file chosen in it (typed into its location bar with xdotool, as a user would) is opened."""
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
    plant_file = write_dialog_plant()
    go(driver, "plant")
    by_test_id(driver, "browse-plant")[0].click()
    choose_in_open_dialog(driver, plant_file, "the_open_dialog")
    message = wait_for("the chosen plant to open", lambda: (m := by_test_id(driver, "plant-message")) and m[0].text)
    assert "Dialog plant" in message, f"the plant chosen in the dialog is open, got {message!r}"
    assert by_test_id(driver, "plant-path")[0].get_attribute("value") == plant_file
    wait_for("the header to name the plant", lambda: "Dialog plant" in plant_name(driver))


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_the_devices_screen_shows_the_northbound_link(driver):
    """A plant file with [northbound.sparkplug] opened in the window: the window runs the Sparkplug edge
    node (a real Mosquitto, started here, sees its NBIRTH) and the Devices screen shows the link online
    with its broker."""
    import shutil

    assets = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets")
    broker_port, sim_port = free_port(), free_port()
    with open(os.path.join(WORK, "mosquitto.conf"), "w") as f:
        f.write(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    children = [
        subprocess.Popen(["mosquitto", "-c", os.path.join(WORK, "mosquitto.conf")], stderr=subprocess.DEVNULL),
        subprocess.Popen([BIN, "simulate", "--listen", f"127.0.0.1:{sim_port}"], stderr=subprocess.DEVNULL),
    ]
    try:
        wait_for("the broker and the simulator to listen", lambda: accepts(broker_port) and accepts(sim_port))
        # An independent subscriber waits for the node's birth certificate.
        birth = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker_port), "-t", "spBv1.0/e2e/NBIRTH/lift4", "-C", "1", "-W", "60"],
            stdout=subprocess.DEVNULL,
        )
        children.append(birth)
        with open(os.path.join(assets, "demo-plant.toml")) as f:
            plant = f.read().replace("port = 5020", f"port = {sim_port}")
        plant = plant.replace('name = "Lift station 4 (simulated)"', 'name = "Lift station 4 (northbound)"')
        plant += f'\n[northbound.sparkplug]\nbroker = "mqtt://127.0.0.1:{broker_port}"\ngroup = "e2e"\nnode = "lift4"\n'
        with open(os.path.join(WORK, "northbound-plant.toml"), "w") as f:
            f.write(plant)
        shutil.copytree(os.path.join(assets, "screens"), os.path.join(WORK, "screens"), dirs_exist_ok=True)
        wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
        go(driver, "plant")
        path = by_test_id(driver, "plant-path")[0]
        path.clear()
        path.send_keys(os.path.join(WORK, "northbound-plant.toml"))
        by_test_id(driver, "open-plant")[0].click()
        wait_for("the plant file open", lambda: "northbound" in plant_name(driver))
        go(driver, "devices")
        wait_for("the northbound link online", lambda: by_test_id(driver, "northbound-state") and by_test_id(driver, "northbound-state")[0].text.lower() == "online", timeout=40)
        broker = by_test_id(driver, "northbound-broker")[0].text
        assert str(broker_port) in broker, f"the card names the broker, got {broker!r}"
        assert birth.wait(timeout=30) == 0, "Mosquitto's subscriber saw no NBIRTH from the window's node"
        shot(driver, "devices_screen_shows_the_northbound_link")
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def retype(field, text):
    """Replaces a controlled input's text the way a user does (select all, type): `clear()` sets the DOM value
    without the input event, so the page's state may keep the old text and the typing is appended to it."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)


def test_the_workbench_finds_the_mystery_device_and_makes_a_tag_of_its_float(driver):
    """Issue 11's acceptance in the window: scan a simulator that serves the mystery device, find it
    (unit 37), map its holding ranges, read its identification, spot the CDAB float in the side-by-side
    view, promote it to a tag of a new device as an engineer, and see it live on the Tags screen without a
    restart; the plant file keeps every comment; the traffic monitor shows the workbench's frames."""
    import shutil

    assets = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets")
    sim_port = free_port()
    sim = subprocess.Popen([BIN, "simulate", "--listen", f"127.0.0.1:{sim_port}", "--with-mystery"], stderr=subprocess.DEVNULL)
    try:
        wait_for("the simulator to listen", lambda: accepts(sim_port))
        with open(os.path.join(assets, "demo-plant.toml")) as f:
            original = f.read()
        plant_text = original.replace("port = 5020", f"port = {sim_port}").replace(
            'name = "Lift station 4 (simulated)"', 'name = "Lift station 4 (commissioning)"'
        )
        plant_path = os.path.join(WORK, "commissioning.toml")
        with open(plant_path, "w") as f:
            f.write(plant_text)
        shutil.copytree(os.path.join(assets, "screens"), os.path.join(WORK, "screens"), dirs_exist_ok=True)
        # An engineer in this plant's database (the file's [history] path, beside it), made with the CLI
        # by its first user, an admin.
        db = os.path.join(WORK, "demo-plant.db")
        subprocess.run([BIN, "users", "--db", db, "add", "ada", "--role", "admin"],
                       input=b"ada-secret\n", check=True, capture_output=True, timeout=60)
        subprocess.run([BIN, "users", "--db", db, "--as", "ada", "add", "eva", "--role", "engineer"],
                       input=b"ada-secret\ne2e-secret\n", check=True, capture_output=True, timeout=60)

        wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready")
        go(driver, "plant")
        retype(by_test_id(driver, "plant-path")[0], plant_path)
        by_test_id(driver, "open-plant")[0].click()
        wait_for("the plant file open", lambda: "commissioning" in plant_name(driver))
        sign_in(driver, "eva", "e2e-secret")

        go(driver, "workbench")
        host = by_test_id(driver, "wb-host")[0]
        assert host.get_attribute("value") == "127.0.0.1", "the workbench starts on the plant's first link"
        assert by_test_id(driver, "wb-port")[0].get_attribute("value") == str(sim_port)
        retype(by_test_id(driver, "wb-last")[0], "40")
        by_test_id(driver, "wb-scan-units")[0].click()
        wait_for("the unit scan to finish", lambda: "Done" in by_test_id(driver, "wb-scan-outcome")[0].text, timeout=60)
        units = sorted(int(b.get_attribute("data-unit")) for b in by_test_id(driver, "wb-unit"))
        assert units == [1, 11, 12, 21, 37], f"the demo plant's four units and the mystery device answer, got {units}"
        shot(driver, "workbench_units_found")

        next(b for b in by_test_id(driver, "wb-unit") if b.get_attribute("data-unit") == "37").click()
        by_test_id(driver, "wb-scan-ranges")[0].click()
        ranges = wait_for("the readable ranges", lambda: (r := by_test_id(driver, "wb-range")) and r)
        found = [(int(r.get_attribute("data-from")), int(r.get_attribute("data-to"))) for r in ranges]
        assert found[0] == (0, 9) and (3000, 3015) in found, f"the mystery device's holding ranges, got {found}"
        by_test_id(driver, "wb-identify")[0].click()
        identity = wait_for("the identification", lambda: (i := by_test_id(driver, "wb-identity")) and i[0].text)
        assert "Plantwatch Training" in identity and "Mystery box" in identity, f"identification objects, got {identity!r}"

        ranges[0].click()  # holding 0-9 into the grid
        by_test_id(driver, "wb-live")[0].click()
        row3 = wait_for("register 3 in the grid", lambda: [r for r in by_test_id(driver, "wb-row") if r.get_attribute("data-address") == "3"])[0]
        cdab = row3.find_element(By.CSS_SELECTOR, 'td[data-order="CDAB"]')
        abcd = row3.find_element(By.CSS_SELECTOR, 'td[data-order="ABCD"]')
        assert "plausible" in cdab.get_attribute("class").split(), f"CDAB at 3 looks like a reading: {cdab.text!r}"
        assert 41.5 < float(cdab.text) < 43.5, f"the mystery temperature near 42.5 °C, got {cdab.text!r}"
        # ABCD swaps the words: not the temperature (it may still look like some reading: the low word of
        # 42.5x varies, and e.g. 0x3848422A is 4.8e-05, finite and not denormal).
        assert not 41.5 < float(abcd.text) < 43.5, f"ABCD at 3 is not the temperature: {abcd.text!r}"
        # A click on the row's address cell selects the row (WebKit's driver does not click a <tr> itself).
        row3.find_element(By.CSS_SELECTOR, "td").click()
        decoded = wait_for(
            "the side-by-side view of register 3",
            lambda: [d for d in by_test_id(driver, "wb-decoded") if d.get_attribute("data-number") == "f32" and d.get_attribute("data-pattern") == "CDAB"],
        )[0]
        shot(driver, "workbench_cdab_float_side_by_side")
        promote = decoded.find_element(By.CSS_SELECTOR, '[data-testid="wb-promote"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", promote)
        promote.click()

        form = wait_for("the promote form", lambda: by_test_id(driver, "wb-promote-form"))[0]
        Select(by_test_id(driver, "wb-promote-device")[0]).select_by_value("")
        retype(by_test_id(driver, "wb-new-device-id")[0], "mystery")
        by_test_id(driver, "wb-tag-name")[0].send_keys("Mystery temperature")
        by_test_id(driver, "wb-tag-unit")[0].send_keys("degC")
        shot(driver, "workbench_promote_form")
        by_test_id(driver, "wb-promote-save")[0].click()
        wait_for("the form to close", lambda: not by_test_id(driver, "wb-promote-form"), timeout=30)

        go(driver, "tags")
        by_test_id(driver, "tag-search")[0].send_keys("mystery")
        row = wait_for(
            "the new tag live on the Tags screen",
            # textContent: WebKit's driver reports the virtual list's cells as not displayed, so .text is empty.
            lambda: [
                v.get_attribute("textContent")
                for v in driver.find_elements(By.CSS_SELECTOR, '[data-tag="mystery/mystery_temperature"] [data-testid="tag-value"]')
                if re.search(r"4[123]\.\d", v.get_attribute("textContent"))
            ],
            timeout=30,
        )[0]
        print(f"  tags screen: mystery/mystery_temperature = {row!r}")
        shot(driver, "workbench_tag_live_on_the_tags_screen")

        with open(plant_path) as f:
            saved = f.read()
        comments = [line for line in plant_text.splitlines() if line.lstrip().startswith("#")]
        missing = [c for c in comments if c not in saved]
        assert not missing, f"the plant file lost {len(missing)} comments, e.g. {missing[:2]}"
        assert saved.startswith(plant_text), "the plant file's old text is kept as it was, the device appended"
        assert 'id = "mystery"' in saved and 'order = "CDAB"' in saved, "the new device and its CDAB tag are in the file"

        go(driver, "workbench")
        by_test_id(driver, "wb-traffic-toggle")[0].click()
        frames = wait_for("frames in the traffic monitor", lambda: len(by_test_id(driver, "wb-frame")) >= 4 and by_test_id(driver, "wb-frame"), timeout=20)
        assert any(" 03 " in f.text for f in frames), "the poll's read requests (FC 3) are captured"
        shot(driver, "workbench_traffic")
    finally:
        sim.kill()
        sim.wait()


def bench_launch_to_first_values(driver):
    """Prints the time from the process start to the first live values on screen."""
    at = wait_for("first values", lambda: driver.execute_script("return document.documentElement.dataset.firstValuesAt"))
    pid = int(os.environ.get("PLANTWATCH_E2E_APP_PID", "0")) or find_app_pid()
    start = process_start_epoch_ms(pid)
    print(json.dumps({"bench": "launch_to_first_values_ms", "value": int(at) - start}))


def bench_trend_7d(driver):
    """Prints request -> drawn chart for 4 pens over 7 days (the plant made by the desktop_trend bench)."""
    on_overview(driver)
    go(driver, "trends")
    toggles = wait_for("pen toggles", lambda: by_test_id(driver, "pen-toggle"))
    for t in toggles[:4]:
        if not t.is_selected():
            t.click()
    results = []
    for run in range(5):
        by_test_id(driver, "span-24h" if run % 2 else "span-1h")[0].click()
        time.sleep(0.5)
        by_test_id(driver, "span-7d")[0].click()

        def drawn():
            status = by_test_id(driver, "trend-status")[0].text
            n = status.split(" samples")[0].replace(",", "")
            return n.isdigit() and int(n) > 2_000_000 and status

        status = wait_for("the 7-day trend", drawn, timeout=30)
        ms = float(by_test_id(driver, "trend-chart")[0].get_attribute("data-draw-ms"))
        results.append(ms)
        print(f"  run {run + 1}: {status}")
    shot(driver, "bench_trend_7d")
    results.sort()
    print(json.dumps({"bench": "trend_4_pens_7_days_request_to_drawn_ms", "median": results[len(results) // 2], "runs": results}))


def bench_picture_updates(driver, seconds=20):
    """Prints the cost of applying live batches to a picture of many bound elements (picture_bench.sh)."""
    expected = int(os.environ.get("PLANTWATCH_BENCH_ELEMENTS", "1000"))
    wait_for("the window to finish opening", lambda: driver.execute_script("return document.documentElement.dataset.init") == "ready", timeout=60)
    wait_for("the bench plant", lambda: "Picture bench" in plant_name(driver), timeout=30)
    if not by_test_id(driver, "screen-screens"):
        go(driver, "screens")
    shown = picture(driver)
    bound = driver.execute_script("return arguments[0].querySelectorAll('[data-pw-id]').length", shown)
    assert bound == expected, f"the picture has {bound} bound elements, expected {expected}"
    wait_for("live batches", lambda: int(shown.get_attribute("data-updates") or 0) > 5, timeout=30)
    for key in ("updates", "updateMsTotal", "updateMsMax"):
        driver.execute_script(f"delete arguments[0].dataset.{key}", shown)
    # Frame gaps over the same window, as the page's own animation frames see them.
    driver.set_script_timeout(seconds + 30)
    gaps = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1], until = performance.now() + arguments[0] * 1000;
        const gaps = []; let last = performance.now();
        function frame(t) { gaps.push(t - last); last = t; if (t < until) requestAnimationFrame(frame); else done(gaps); }
        requestAnimationFrame(frame);
        """,
        seconds,
    )
    updates = int(shown.get_attribute("data-updates") or 0)
    total = float(shown.get_attribute("data-update-ms-total") or 0)
    worst = float(shown.get_attribute("data-update-ms-max") or 0)
    touched = int(shown.get_attribute("data-touched") or 0)
    gaps.sort()
    shot(driver, "bench_picture_updates")
    print(json.dumps({
        "bench": "picture_update_per_batch",
        "bound_elements": bound,
        "seconds": seconds,
        "batches": updates,
        "elements_touched_last_batch": touched,
        "apply_ms_mean": round(total / updates, 3) if updates else None,
        "apply_ms_max": round(worst, 3),
        "frames": len(gaps),
        "frame_gap_ms_median": round(gaps[len(gaps) // 2], 1) if gaps else None,
        "frame_gap_ms_max": round(gaps[-1], 1) if gaps else None,
        "frames_over_25_ms": sum(1 for g in gaps if g > 25),
    }))


def find_app_pid():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if os.path.realpath(exe) == os.path.realpath(BIN):
                return int(entry)
    raise AssertionError("the app's process was not found")


def process_start_epoch_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
    with open("/proc/stat") as f:
        btime = next(int(l.split()[1]) for l in f if l.startswith("btime"))
    return int((btime + start_ticks / os.sysconf("SC_CLK_TCK")) * 1000)


def main():
    name = sys.argv[1]
    test = globals().get(name) or globals().get(f"test_{name}")
    if test is None:
        print(f"FAIL {name}: no such test")
        return 1
    driver = None
    try:
        driver = webdriver.Remote(command_executor=DRIVER, options=TauriOptions())
        driver.implicitly_wait(0)
        # Typing a path that exists must type it, not upload the file (which the driver cannot do).
        driver.file_detector = UselessFileDetector()
        test(driver)
        print(f"PASS {name}")
        return 0
    except Exception as e:
        print(f"FAIL {name}: {e}")
        traceback.print_exc(file=sys.stderr)
        if driver is not None:
            try:
                shot(driver, f"FAILED-{name}")
            except Exception:
                pass
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass


if __name__ == "__main__":
    sys.exit(main())
