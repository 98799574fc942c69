#!/usr/bin/env bash
# Desktop benchmarks (figures for the closing note of issue 4). Builds nothing: pass the production binary.
#
#   cargo bench -p plantwatch-system-tests --bench desktop_trend    # once: makes the 7-day history
#   bash tests/e2e/bench.sh /abs/path/to/target/release/plantwatch [minutes]
#
# 1. launch -> first live values on screen (3 launches on the simulated plant; from the process's start
#    time in /proc to the page's first-values mark);
# 2. a 4-pen, 7-day, 1 s history trend: request -> drawn chart, as the Trends screen measures it;
# 3. PSS of the whole process tree (app + WebKit processes) after `minutes` (default 10) on the demo plant,
#    with WEBKIT_DISABLE_COMPOSITING_MODE=1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:?usage: bench.sh /path/to/production/plantwatch [minutes]}")
minutes=${2:-10}
source "$here/bench_env.sh"

echo "== launch -> first live values"
for run in 1 2 3; do
  rm -rf "$scratch/launch"; mkdir -p "$scratch/launch"
  with_driver "$scratch/launch" bench_launch_to_first_values
done

echo "== 4 pens x 7 days trend"
plant="$root/tests/out/bench/trend-7d/plant.toml"
if [ -f "$plant" ]; then
  mkdir -p "$scratch/trend"
  printf '{"lastPlant": "%s", "lastScreen": "overview"}\n' "$plant" >"$scratch/trend/settings.json"
  with_driver "$scratch/trend" bench_trend_7d
else
  echo "skipped: run 'cargo bench -p plantwatch-system-tests --bench desktop_trend' first to make $plant"
fi

echo "== memory (PSS) after $minutes min on the demo plant"
mkdir -p "$scratch/mem"
PLANTWATCH_DATA_DIR="$scratch/mem" WEBKIT_DISABLE_COMPOSITING_MODE=1 "$bin" >"$scratch/app.log" 2>&1 &
app=$!
pids+=($app)
sleep $((minutes * 60))
tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done; }
total=0
for p in $(tree "$app"); do
  pss=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
  printf '  pid %-7s %-28s %6d MB\n' "$p" "$(cat /proc/"$p"/comm 2>/dev/null)" $((pss / 1024))
  total=$((total + ${pss:-0}))
done
echo "{\"bench\": \"pss_after_${minutes}_min_mb\", \"value\": $((total / 1024))}"
