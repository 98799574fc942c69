#!/usr/bin/env bash
# The fault soak of `plantwatch collect` (issue 17: never lose an alarm or a sample under faults).
#
#   bash tests/soak/collect_soak.sh [minutes]        (default 30)
#
# Runs the simulator at --speed 20 with the comm-faults scenario on a free port, and `plantwatch collect`
# on a copy of the demo plant pointed at it, for `minutes` of wall time, while
#   - a real sqlite3 process holds BEGIN EXCLUSIVE on the plant's database for 10 s, every 5 minutes
#     (every minutes x 10 s on a shorter run, so a short run sees as many locks as a long one),
#   - the collector is killed with SIGKILL at half time and started again 3 s later,
#   - the collector's resident memory is sampled every 2 s.
# At the end it stops the collector with SIGTERM, runs PRAGMA integrity_check, exports the history and
# the alarm journal with the plantwatch CLI, and hands them to check_soak.py, an independent check in
# Python that replays the demo plant's alarm rules over the history, compares with the journal, looks
# for gaps in the history, and prints the table. Everything is kept in tests/out/soak-<time>/.
#
# The binary is $PLANTWATCH_BIN, or target/release/plantwatch when built, else target/debug/plantwatch.
# Exit status: 0 when nothing was lost, 1 when something was (or a step failed), 2 on bad arguments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

minutes="${1:-30}"
if ! [[ "$minutes" =~ ^[1-9][0-9]*$ ]]; then
  echo "collect_soak.sh: minutes must be a positive whole number, got '$minutes'" >&2
  exit 2
fi
bin="${PLANTWATCH_BIN:-}"
if [[ -z "$bin" ]]; then
  bin="$repo/target/release/plantwatch"
  [[ -x "$bin" ]] || bin="$repo/target/debug/plantwatch"
fi
[[ -x "$bin" ]] || { echo "collect_soak.sh: no plantwatch binary at $bin (cargo build -p plantwatch)" >&2; exit 1; }
python="${PLANTWATCH_PYTHON:-python3}"
command -v sqlite3 >/dev/null || { echo "collect_soak.sh: the sqlite3 command is missing (apt-get install sqlite3)" >&2; exit 1; }

total=$((minutes * 60))
lock_every=$((minutes * 10 < 300 ? minutes * 10 : 300))
kill_at=$((total / 2))
work="$repo/tests/out/soak-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$work"
cd "$work"
events="$work/events.log"
now() { date +%s.%N; }
note() { echo "$1 $(now)${2:+ $2}" >>"$events"; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -f collector.pid ]] && kill -9 "$(cat collector.pid)" 2>/dev/null || true
}
trap cleanup EXIT

# The simulator, on a port it picks; its banner ends with the port.
"$bin" simulate --listen 127.0.0.1:0 --speed 20 --scenario comm-faults >sim.log 2>&1 &
pids+=($!)
port=""
for _ in $(seq 100); do
  port="$(grep -o 'tcp 127.0.0.1:[0-9]*' sim.log | grep -o '[0-9]*$' || true)"
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "collect_soak.sh: the simulator did not start: $(cat sim.log)" >&2; exit 1; }
grep -q 'port = 5020' "$repo/assets/demo-plant.toml" || { echo "collect_soak.sh: the demo plant no longer says port = 5020" >&2; exit 1; }
sed -e "s/port = 5020/port = $port/" -e 's|^path = "demo-plant.db"|path = "plant.db"|' \
  "$repo/assets/demo-plant.toml" >plant.toml

start_collector() {
  "$bin" collect plant.toml --status-every 30s >>"collect-$1.log" 2>&1 &
  echo $! >collector.pid
}

# Resident memory of whichever collector runs, every 2 s: epoch seconds, kB, pid.
sample_rss() {
  while true; do
    pid="$(cat collector.pid 2>/dev/null || true)"
    rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    [[ -n "$rss" ]] && echo "$(now) $rss $pid" >>rss.log
    sleep 2
  done
}

# A real sqlite3 holding the database's write lock for 10 s, every lock_every seconds.
hold_locks() {
  while true; do
    sleep "$lock_every"
    sqlite3 plant.db >>locks.log 2>&1 <<SQL || true
.bail on
.timeout 30000
BEGIN EXCLUSIVE;
.shell echo "lock \$(date +%s.%N)" >>"$events"
.shell sleep 10
COMMIT;
.shell echo "unlock \$(date +%s.%N)" >>"$events"
SQL
  done
}

echo "soak: $minutes min, simulator on port $port, locks every $lock_every s, kill -9 at $kill_at s; in $work"
note start
start_collector 1
sample_rss &
pids+=($!)
hold_locks &
pids+=($!)

sleep "$kill_at"
kill -9 "$(cat collector.pid)"
note kill
sleep 3
note restart
start_collector 2

sleep $((total - kill_at - 3))
kill "${pids[1]}" "${pids[2]}" 2>/dev/null || true
wait "${pids[2]}" 2>/dev/null || true
note stop
collector="$(cat collector.pid)"
kill -TERM "$collector"
for _ in $(seq 600); do
  kill -0 "$collector" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$collector" 2>/dev/null; then
  echo "collect_soak.sh: the collector did not stop within 60 s of SIGTERM" >&2
  exit 1
fi
rm -f collector.pid
note stopped

integrity="$(sqlite3 plant.db 'PRAGMA integrity_check;' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
"$bin" export --db plant.db --format csv --out history.csv
"$bin" alarms --db plant.db --format csv >journal.csv

"$python" "$here/check_soak.py" --plant plant.toml --history history.csv --journal journal.csv \
  --events "$events" --rss rss.log --integrity "$integrity" --collector-logs collect-1.log collect-2.log
