#!/usr/bin/env bash
# Process pictures (issue 16): the update cost per live batch of a picture with 1,000 bound elements, in
# the real webview. Builds nothing: pass the production binary (see run.sh).
#
#   bash tests/e2e/picture_bench.sh /abs/path/to/target/release/plantwatch [N]
#
# Starts `plantwatch simulate` (speed 10, so the level, pressure and gas readings move every poll) on a
# free port, writes a plant of N tags (default 1000) polled every 100 ms with a generated picture binding
# one element to each (tests/e2e/picture_bench.py), opens it in the window under Xvfb and prints, as JSON:
# the batches applied, the elements touched per batch, the mean and worst time to apply one batch, and the
# frame gaps the page saw meanwhile (requestAnimationFrame; over 25 ms counts as a dropped frame at 60 Hz).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:?usage: picture_bench.sh /path/to/production/plantwatch [N]}")
n=${2:-1000}
export PATH="$HOME/.cargo/bin:$PATH"
py="$root/target/e2e-venv/bin/python"
"$py" -c 'import selenium' 2>/dev/null || { python3 -m venv "$root/target/e2e-venv" && "$root/target/e2e-venv/bin/pip" install -q 'selenium==4.51.0'; }
out="$root/tests/out/e2e"
mkdir -p "$out"
scratch=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$scratch"
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do "$py" -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

exec 3>"$scratch/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
exec 3>&-
for _ in $(seq 100); do [ -s "$scratch/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -n1 "$scratch/display")"

sim=$(free_port)
"$bin" simulate --listen "127.0.0.1:$sim" --speed 10 >"$scratch/sim.log" 2>&1 &
pids+=($!)
wait_port "$sim" || { echo "picture_bench: the simulator did not start" >&2; cat "$scratch/sim.log" >&2; exit 1; }

mkdir -p "$scratch/data" "$scratch/plant"
"$py" "$here/picture_bench.py" "$scratch/plant" "$sim" "$n"
"$bin" check "$scratch/plant/bench.toml" || exit 1
printf '{"lastPlant": "%s", "lastScreen": "screens"}\n' "$scratch/plant/bench.toml" >"$scratch/data/settings.json"

port=$(free_port); native=$(free_port)
PLANTWATCH_DATA_DIR="$scratch/data" WEBKIT_DISABLE_COMPOSITING_MODE=1 tauri-driver --port "$port" --native-port "$native" >"$scratch/driver.log" 2>&1 &
pids+=($!)
wait_port "$port" || { echo "picture_bench: tauri-driver did not start" >&2; exit 1; }
PLANTWATCH_E2E_BIN="$bin" PLANTWATCH_E2E_DRIVER="http://127.0.0.1:$port" PLANTWATCH_E2E_OUT="$out" PLANTWATCH_E2E_WORK="$scratch" \
  PLANTWATCH_BENCH_ELEMENTS="$n" timeout 300 "$py" -u "$here/desktop_test.py" bench_picture_updates
