#!/usr/bin/env bash
# Fuzzes the parts of Plantwatch that read bytes from outside, with AFL++ on stable Rust (cargo-afl):
#
#   bash tests/fuzz/run.sh [target|all] [execs] [seconds]
#
#   target  modbus_reply, history_codec, config_text, or all (the default)
#   execs   executions per target (default 10000000); AFL stops near that count (-E)
#   seconds a time limit per target as well (-V), for a machine too busy to reach `execs` in time
#
# Installs cargo-afl when it is missing (AFL++ is built from the crate's bundled source). Each target
# starts from its kept corpus in tests/data/fuzz/<target>/ plus fresh seeds made from the test data,
# runs one fuzzer at a time at low priority, prints the executions done and the crashes found, then
# minimises what AFL kept (afl-cmin) back into tests/data/fuzz/<target>/. AFL's output stays in
# tests/fuzz/out/<target>/; crashing inputs are in its default/crashes/ folder.
#
# Exit status: 0 when no target crashed, 1 when one did (or the build failed), 2 on bad arguments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

targets=(modbus_reply history_codec config_text)
which="${1:-all}"
execs="${2:-10000000}"
seconds="${3:-}"
if [[ "$which" != all && ! " ${targets[*]} " =~ " $which " ]]; then
  echo "run.sh: unknown target '$which' (allowed: ${targets[*]} all)" >&2
  exit 2
fi
if ! [[ "$execs" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: execs must be a positive whole number, got '$execs'" >&2
  exit 2
fi
if [[ -n "$seconds" && ! "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: seconds must be a positive whole number, got '$seconds'" >&2
  exit 2
fi
limits=(-E "$execs")
[[ -n "$seconds" ]] && limits+=(-V "$seconds")
[[ "$which" == all ]] || targets=("$which")

if ! cargo afl --version >/dev/null 2>&1; then
  echo "== installing cargo-afl (builds AFL++ once)" >&2
  cargo install --locked cargo-afl
  cargo afl config --build || true # already built by the install on recent cargo-afl
fi

cd "$here"
echo "== building the targets with AFL instrumentation" >&2
nice -n 10 cargo afl build --release
bin="$here/target/release"

seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
"$bin/seeds" "$repo" "$seeds"

# This machine is shared and often runs without a core dump handler or a fixed CPU frequency; AFL's
# checks for those would stop it, and pinning to a core would fight the other work on it.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_SKIP_CRASHES=1

crashed=0
for target in "${targets[@]}"; do
  kept="$repo/tests/data/fuzz/$target"
  mkdir -p "$kept"
  cp -n "$kept"/* "$seeds/$target/" 2>/dev/null || true
  case "$target" in # see maxlen below
    config_text) find "$seeds/$target" -type f -size +4096c -delete ;;
    history_codec) find "$seeds/$target" -type f -size +2048c -delete ;;
  esac
  out="$here/out/$target"
  rm -rf "$out"
  mkdir -p "$here/out"
  dict=()
  [[ -f "$here/$target.dict" ]] && dict=(-x "$here/$target.dict")
  # A plant file's grammar is reached by short texts; long ones mostly repeat tables. With AFL free to
  # grow configs to 15 KB it ran at about 500 executions a second here, at 4 KB at about 6,000. The codec
  # likewise: 2 KB hold runs of hundreds of samples and a log blob of dozens of runs, and AFL's 25 KB
  # inputs took 5-9 ms each.
  maxlen=()
  case "$target" in
    config_text) maxlen=(-G 4096) ;;
    history_codec) maxlen=(-G 2048) ;;
  esac
  echo "== fuzzing $target for $execs executions${seconds:+ or $seconds s}" >&2
  nice -n 10 cargo afl fuzz -i "$seeds/$target" -o "$out" "${limits[@]}" "${maxlen[@]}" "${dict[@]}" -- "$bin/$target" \
    >"$here/out/$target.log" 2>&1 || { tail -20 "$here/out/$target.log" >&2; exit 1; }
  stats="$out/default/fuzzer_stats"
  done_execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
  crashes=$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")
  speed=$(awk -F' *: *' '$1=="execs_per_sec"{print $2}' "$stats")
  edges=$(awk -F' *: *' '$1=="edges_found"{print $2}' "$stats")
  echo "$target: execs_done $done_execs, execs_per_sec $speed, edges_found $edges, saved_crashes $crashes"
  if [[ "$crashes" != 0 ]]; then
    echo "$target: crashing inputs in $out/default/crashes/" >&2
    crashed=1
    continue
  fi
  echo "== minimising the $target corpus into tests/data/fuzz/$target" >&2
  min="$(mktemp -d)"
  rmdir "$min"
  # The shell afl-cmin: the Python one (what `cargo afl cmin` picks) records no coverage from these
  # persistent-mode binaries and would keep nothing. Edges only (-e), not hit counts: a config corpus
  # kept for every count bucket is three times the size for little more.
  cmin="$(find "$HOME/.local/share/afl.rs" -path '*/afl/bin/afl-cmin.bash' | sort | tail -1)"
  nice -n 10 "$cmin" -e -i "$out/default/queue" -o "$min" -- "$bin/$target" >"$here/out/$target.cmin.log" 2>&1
  rm -rf "$kept"
  mkdir -p "$kept"
  # Names AFL gives (id:000123,src:...,op:...) hold colons; plain numbered names travel better.
  n=0
  for f in "$min"/*; do
    cp "$f" "$kept/$(printf '%05d' "$n")"
    n=$((n + 1))
  done
  rm -rf "$min"
  echo "$target: $n inputs kept"
done
exit "$crashed"
