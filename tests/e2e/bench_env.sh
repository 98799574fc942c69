# Shared set-up of the desktop benchmarks (bench.sh, picture_bench.sh), sourced after each sets `here`,
# `root` and `bin`: the Selenium venv, a scratch folder and the processes cleaned up at exit, free ports,
# a private Xvfb display, and `with_driver` to run one bench function of desktop_test.py in the window.

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

# with_driver DATA_DIR TEST: a tauri-driver whose app keeps its settings and data in DATA_DIR, and the bench
# function TEST of desktop_test.py against it (extra settings for TEST travel as exported variables).
with_driver() {
  local port native dpid status
  port=$(free_port); native=$(free_port)
  PLANTWATCH_DATA_DIR="$1" WEBKIT_DISABLE_COMPOSITING_MODE=1 tauri-driver --port "$port" --native-port "$native" >"$scratch/driver.log" 2>&1 &
  dpid=$!
  wait_port "$port" || { echo "tauri-driver did not start:" >&2; cat "$scratch/driver.log" >&2; kill -TERM "$dpid"; return 1; }
  PLANTWATCH_E2E_BIN="$bin" PLANTWATCH_E2E_DRIVER="http://127.0.0.1:$port" PLANTWATCH_E2E_OUT="$out" PLANTWATCH_E2E_WORK="$scratch" \
    timeout 300 "$py" -u "$here/desktop_test.py" "$2"
  status=$?
  kill -TERM "$dpid"; wait "$dpid" 2>/dev/null
  return $status
}
