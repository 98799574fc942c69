#!/usr/bin/env bash
# End-to-end tests of the real desktop window. Builds nothing: pass the production binary
# (`npm run build` in ui/, then `cargo build --release -p plantwatch --features desktop,tauri/custom-protocol`).
#
#   bash tests/e2e/run.sh /abs/path/to/target/release/plantwatch
#
# Starts Xvfb on a free display, then for each test a tauri-driver (on free ports, with the environment
# the test needs: its own data folder, a simulator scenario) that launches the app; runs the test
# (tests/e2e/desktop_test.py, Python selenium in target/e2e-venv, installed on first use); stops the
# driver with SIGTERM (a killed driver leaves WebKitWebDriver orphaned). Screenshots go to
# tests/out/e2e/. Prints `N passed, N failed` last and exits non-zero when a test failed.
#
# Desktop notifications: a private D-Bus session bus (dbus-daemon) for the whole run, and for each test a
# fresh dunst (a real org.freedesktop.Notifications server, tests/e2e/dunstrc) on the Xvfb display, so a
# test reads back only its own app's notifications with `dunstctl history`. Everything started here is
# stopped at the end, also on failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:?usage: run.sh /path/to/production/plantwatch}
bin=$(realpath "$bin")
[ -x "$bin" ] || { echo "run.sh: $bin is not an executable" >&2; exit 2; }
export PATH="$HOME/.cargo/bin:$PATH"
command -v tauri-driver >/dev/null || { echo "run.sh: tauri-driver is missing (cargo install tauri-driver --locked)" >&2; exit 2; }
command -v WebKitWebDriver >/dev/null || { echo "run.sh: WebKitWebDriver is missing (apt-get install webkit2gtk-driver)" >&2; exit 2; }
command -v Xvfb >/dev/null || { echo "run.sh: Xvfb is missing (apt-get install xvfb)" >&2; exit 2; }
command -v xdotool >/dev/null || { echo "run.sh: xdotool is missing (apt-get install xdotool)" >&2; exit 2; }
for tool in dbus-daemon dunst dunstctl busctl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install dunst dbus-daemon dbus-bin systemd)" >&2; exit 2; }
done

venv="$root/target/e2e-venv"
if ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  echo "run.sh: installing selenium into $venv" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'selenium==4.51.0' || { echo "run.sh: cannot install selenium" >&2; exit 2; }
fi
py="$venv/bin/python"

out="$root/tests/out/e2e"
mkdir -p "$out"
rm -f "$out"/*.png
scratch=$(mktemp -d)
xvfb_pid=""
driver_pid=""
dunst_pid=""
bus_pid=""

cleanup() {
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null
    wait "$driver_pid" 2>/dev/null
  fi
  stop_dunst
  # The bus daemon forked away from this shell: no wait, it is not our child.
  [ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null
  if [ -n "$xvfb_pid" ]; then
    kill -TERM "$xvfb_pid" 2>/dev/null
    wait "$xvfb_pid" 2>/dev/null
  fi
  rm -rf "$scratch"
}
stop_dunst() {
  if [ -n "$dunst_pid" ]; then
    kill -TERM "$dunst_pid" 2>/dev/null
    wait "$dunst_pid" 2>/dev/null
    dunst_pid=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Xvfb picks a free display and writes its number to the given descriptor once it is ready.
exec 3>"$scratch/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp >"$scratch/xvfb.log" 2>&1 &
xvfb_pid=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$scratch/display" ] && break; sleep 0.1; done
[ -s "$scratch/display" ] || { echo "run.sh: Xvfb did not start" >&2; cat "$scratch/xvfb.log" >&2; exit 1; }
export DISPLAY=":$(head -n1 "$scratch/display")"

# A private session bus: --fork returns once it is ready, printing its address, then its pid.
bus=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1) || { echo "run.sh: dbus-daemon did not start" >&2; exit 1; }
bus_pid=$(sed -n 2p <<<"$bus")
export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p <<<"$bus")

# A fresh dunst with an empty history, ready once it answers on the bus.
start_dunst() {
  dunst -config "$here/dunstrc" >"$1/dunst.log" 2>&1 &
  dunst_pid=$!
  for _ in $(seq 100); do
    dunstctl debug >/dev/null 2>&1 && return 0
    kill -0 "$dunst_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: dunst did not start" >&2
  cat "$1/dunst.log" >&2
  return 1
}

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts tauri-driver with the given environment (KEY=VALUE ...) and waits for its port.
start_driver() {
  local port native
  port=$(free_port)
  native=$(free_port)
  env "$@" tauri-driver --port "$port" --native-port "$native" >"$scratch/driver.log" 2>&1 &
  driver_pid=$!
  for _ in $(seq 100); do
    "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    sleep 0.1
  done
  export PLANTWATCH_E2E_DRIVER="http://127.0.0.1:$port"
}

stop_driver() {
  if [ -n "$driver_pid" ]; then
    kill -TERM "$driver_pid" 2>/dev/null
    wait "$driver_pid" 2>/dev/null
    driver_pid=""
  fi
}

passed=0
failed=0
failures=()

# name | simulator scenario | simulator speed | users made before the app starts (optional)
tests=(
  "test_starts_on_the_simulated_plant normal 1"
  "test_live_values_change_on_the_overview normal 1"
  "test_the_tags_screen_filters normal 1"
  "test_a_trend_opens_with_history normal 1"
  "test_a_report_is_previewed_and_saved_as_pdf normal 1"
  "test_a_broken_plant_file_shows_its_error normal 1"
  "test_an_alarm_is_acknowledged_and_journaled gas-flood 5"
  "test_a_high_alarm_shows_a_desktop_notification gas-flood 5"
  "test_an_operator_writes_the_start_level normal 1 anna:admin"
  "test_the_home_screen_is_the_lift_station normal 1"
  "test_a_pump_turns_red_when_it_trips pump-trip 5"
  "test_a_click_on_the_picture_opens_the_trend normal 1"
  "test_a_hostile_picture_runs_nothing normal 1"
  "test_the_devices_screen_shows_the_northbound_link normal 1"
  "test_every_screen_in_both_languages_and_sizes normal 1 anna:admin"
  "test_notifications_and_alarms_in_chinese gas-flood 5"
  "test_the_open_dialog_opens_a_plant_file normal 1"
  "test_the_plant_menu_opens_a_file_from_the_system_dialog_and_tags_pin_on_the_overview normal 1"
  "test_the_workbench_finds_the_mystery_device_and_makes_a_tag_of_its_float normal 1"
)
# PLANTWATCH_E2E_ONLY=NAME runs one test, with its own scenario when it is listed above
# (PLANTWATCH_E2E_ONLY=browser: only the browser screens' tests).
if [ "${PLANTWATCH_E2E_ONLY:-}" = browser ]; then
  tests=()
elif [ -n "${PLANTWATCH_E2E_ONLY:-}" ]; then
  only="${PLANTWATCH_E2E_ONLY} normal 1"
  for entry in "${tests[@]}"; do
    [ "${entry%% *}" = "$PLANTWATCH_E2E_ONLY" ] && only=$entry
  done
  tests=("$only")
fi

export PLANTWATCH_E2E_BIN="$bin" PLANTWATCH_E2E_OUT="$out"
for entry in "${tests[@]}"; do
  read -r name scenario speed users <<<"$entry"
  work="$scratch/$name"
  mkdir -p "$work/data" "$work/exports"
  # Users in the demo plant's database (where the app keeps it: $PLANTWATCH_DATA_DIR/demo-plant.db),
  # made with the real CLI; each has the password `e2e-secret`.
  for user in ${users:-}; do
    printf 'e2e-secret\n' | "$bin" users --db "$work/data/demo-plant.db" add "${user%%:*}" --role "${user##*:}" >"$work/users.log" 2>&1 \
      || { echo "run.sh: cannot add user $user:" >&2; cat "$work/users.log" >&2; }
  done
  start_dunst "$work" || { failed=$((failed + 1)); failures+=("$name"); continue; }
  start_driver PLANTWATCH_DATA_DIR="$work/data" PLANTWATCH_EXPORT_DIR="$work/exports" \
    PLANTWATCH_SIM_SCENARIO="$scenario" PLANTWATCH_SIM_SPEED="$speed" WEBKIT_DISABLE_COMPOSITING_MODE=1
  if PLANTWATCH_E2E_WORK="$work" timeout 180 "$py" -u "$here/desktop_test.py" "$name"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "--- tauri-driver log of $name:" >&2
    tail -n 20 "$scratch/driver.log" >&2
  fi
  stop_driver
  stop_dunst
done

# The browser screens (issue 13): headless Chromium against `plantwatch collect` serving them; the
# script starts and stops its simulator, collector and chromedriver, and prints a line per test.
if [ -z "${PLANTWATCH_E2E_ONLY:-}" ] || [ "$PLANTWATCH_E2E_ONLY" = browser ]; then
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    mkdir -p "$scratch/browser"
    PLANTWATCH_E2E_WORK="$scratch/browser" timeout 300 "$py" -u "$here/browser_test.py" | tee "$scratch/browser.out"
    browser_passed=$(grep -c '^PASS ' "$scratch/browser.out")
    browser_failed=$(grep -c '^FAIL ' "$scratch/browser.out")
    passed=$((passed + browser_passed))
    if [ "$browser_failed" -gt 0 ] || [ "$browser_passed" -eq 0 ]; then
      failed=$((failed + (browser_failed > 0 ? browser_failed : 1)))
      failures+=("browser")
      echo "--- the collector's log:" >&2
      tail -n 20 "$scratch/browser/collect.log" >&2
    fi
  else
    echo "run.sh: chromium and chromedriver are missing (apt-get install chromium chromium-driver)" >&2
    failed=$((failed + 1))
    failures+=("browser")
  fi
fi

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}" >&2
echo "screenshots: $out" >&2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
