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
source "$here/bench_env.sh"

sim=$(free_port)
"$bin" simulate --listen "127.0.0.1:$sim" --speed 10 >"$scratch/sim.log" 2>&1 &
pids+=($!)
wait_port "$sim" || { echo "picture_bench: the simulator did not start" >&2; cat "$scratch/sim.log" >&2; exit 1; }

mkdir -p "$scratch/data" "$scratch/plant"
"$py" "$here/picture_bench.py" "$scratch/plant" "$sim" "$n"
"$bin" check "$scratch/plant/bench.toml" || exit 1
printf '{"lastPlant": "%s", "lastScreen": "screens"}\n' "$scratch/plant/bench.toml" >"$scratch/data/settings.json"

export PLANTWATCH_BENCH_ELEMENTS="$n"
with_driver "$scratch/data" bench_picture_updates
