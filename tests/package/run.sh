#!/usr/bin/env bash
# The packages' acceptance test (issue 14), run by tests/run-all after the e2e stage, as root, on the
# .deb and .rpm that `bash .ci/package` left in target/packages/:
#   1. the packages' metadata: sizes, the .deb's Depends, the AppStream metainfo and the desktop entry
#      validated, the .rpm's files (unpacked by Debian's rpm: the same bytes) and its Requires
#   2. `apt-get install ./plantwatch_*.deb`; `plantwatch check` on the installed demo plant
#   3. the collector service under a real systemd: a systemd-nspawn container booted over this
#      machine's /usr (so it runs the installed package) with /etc/plantwatch and /var/lib/plantwatch
#      bound in; `systemctl enable --now plantwatch-collect@pkgtest` on a plant file pointing at
#      `plantwatch simulate`, the history grows, `systemctl stop` stores everything (the journal's
#      last count = the exported rows), a kill -9 is restarted, a bad plant file is not
#      (a missing systemd-nspawn fails; a machine where no container boots skips it, and says why)
#   4. the window launched from the desktop entry's Exec line under Xvfb: tests/out/package/window.png
#   5. `apt-get remove plantwatch` leaves /etc/plantwatch and /var/lib/plantwatch in place
# Prints `tests/package: N passed, N failed, N skipped` last; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
packages=${PLANTWATCH_PACKAGES:-$root/target/packages}
out=$root/tests/out/package
instance=pkgtest
plant=/etc/plantwatch/$instance.toml
broken=/etc/plantwatch/$instance-broken.toml
db=/var/lib/plantwatch/$instance.db
unit=plantwatch-collect@$instance.service

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s\n' "$*"; }
# check NAME COMMAND...: one pass or fail, with the command's output shown on failure.
check() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then pass "$name"; else fail "$name"; printf '%s\n' "$output" | sed 's/^/      /' | tail -20; fi
}
# within SECONDS COMMAND...: polls the command every 0.2 s until it succeeds or the time is up.
within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
section() { printf '\n== %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "tests/package: run as root (apt-get install, systemd-nspawn)" >&2; exit 2; }
deb=$(ls "$packages"/plantwatch_*_amd64.deb 2>/dev/null | head -1)
rpm=$(ls "$packages"/plantwatch-*.x86_64.rpm 2>/dev/null | head -1)
if [ -z "$deb" ] || [ -z "$rpm" ]; then
  echo "tests/package: no packages in $packages: build them first (bash .ci/package)" >&2
  exit 2
fi

scratch=$(mktemp -d /tmp/plantwatch-package.XXXXXX)
# The test's own plant files and history, left by a run that was killed: start from none.
rm -f "$plant" "$broken" "$db" "$db"-wal "$db"-shm "$db".lock
rm -rf "$out" && mkdir -p "$out"
sim_pid='' nspawn_pid='' xvfb_pid='' window_pid='' installed=''
cleanup() {
  for pid in $window_pid $xvfb_pid $sim_pid; do kill "$pid" 2>/dev/null; done
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # SIGTERM asks the container's systemd to power off; a container that hangs is killed.
    kill "$nspawn_pid"
    within 30 sh -c "! kill -0 $nspawn_pid" || kill -9 "$nspawn_pid" 2>/dev/null
  fi
  [ -n "$installed" ] && DEBIAN_FRONTEND=noninteractive apt-get remove -y -q plantwatch >/dev/null 2>&1
  # The test's own plant files and history; anything else in these folders is a user's.
  rm -f "$plant" "$broken" "$db" "$db"-wal "$db"-shm "$db".lock
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- 1. metadata -------------------------------------------------------------------------------
section "the packages"
deb_bytes=$(stat -c %s "$deb") rpm_bytes=$(stat -c %s "$rpm")
installed_kib=$(dpkg-deb -f "$deb" Installed-Size)
awk -v deb="$(basename "$deb")" -v d="$deb_bytes" -v i="$installed_kib" -v rpm="$(basename "$rpm")" -v r="$rpm_bytes" \
  'BEGIN { printf "size  %s: %d bytes (%.1f MiB), installed %.1f MiB\nsize  %s: %d bytes (%.1f MiB)\n",
           deb, d, d / 1048576, i / 1024, rpm, r, r / 1048576 }'
depends=$(dpkg-deb -f "$deb" Depends)
echo "      Depends: $depends"
for need in libwebkit2gtk-4.1-0 libgtk-3-0 libc6 fonts-noto-cjk; do
  check ".deb depends on $need" grep -q "\(^\|, \)$need\( \|,\|$\)" <<<"$depends"
done
mkdir -p "$scratch/deb"
dpkg-deb -x "$deb" "$scratch/deb"
check "the AppStream metainfo validates (appstreamcli validate)" \
  appstreamcli validate --no-net "$scratch/deb/usr/share/metainfo/org.plantwatch.desktop.metainfo.xml"
check "the desktop entry validates (desktop-file-validate)" \
  desktop-file-validate "$scratch/deb/usr/share/applications/Plantwatch.desktop"
check "the metainfo launches the desktop entry" \
  grep -q '<launchable type="desktop-id">Plantwatch.desktop</launchable>' \
  "$scratch/deb/usr/share/metainfo/org.plantwatch.desktop.metainfo.xml"
check "the binary is stripped" sh -c "file '$scratch/deb/usr/bin/plantwatch' | grep -q ', stripped'"
# Exactly these files and no others (the folders between them aside).
(cd "$scratch/deb" && find . -type f | sed 's|^\.||' | sort) >"$scratch/deb-files"
cat >"$scratch/expected-files" <<'FILES'
/usr/bin/plantwatch
/usr/lib/systemd/system/plantwatch-collect@.service
/usr/lib/sysusers.d/plantwatch.conf
/usr/lib/tmpfiles.d/plantwatch.conf
/usr/share/applications/Plantwatch.desktop
/usr/share/icons/hicolor/128x128/apps/plantwatch.png
/usr/share/icons/hicolor/32x32/apps/plantwatch.png
/usr/share/icons/hicolor/512x512/apps/plantwatch.png
/usr/share/icons/hicolor/64x64/apps/plantwatch.png
/usr/share/metainfo/org.plantwatch.desktop.metainfo.xml
/usr/share/plantwatch/demo-plant.toml
/usr/share/plantwatch/screens/station.svg
/usr/share/plantwatch/sim/comm-faults.toml
/usr/share/plantwatch/sim/gas-flood.toml
/usr/share/plantwatch/sim/normal.toml
/usr/share/plantwatch/sim/pump-trip.toml
/usr/share/plantwatch/sim/storm.toml
FILES
check ".deb holds exactly the expected files" diff "$scratch/expected-files" "$scratch/deb-files"

rpm -qip "$rpm" | sed 's/^/      /'
rpm -qlp "$rpm" | sort >"$scratch/rpm-files"
check ".rpm holds the same files as the .deb (rpm -qlp)" diff "$scratch/deb-files" "$scratch/rpm-files"
# Unpacked by rpm itself into a scratch root (no scripts, no dependencies: this is not an rpm system):
# the same bytes and modes as the .deb's.
sums() { (cd "$1" && find usr -type f -printf '%m %p ' -exec sha256sum {} \; | sort); }
if rpm -i --nodeps --noscripts --notriggers --root "$scratch/rpmroot" "$rpm" >"$scratch/rpm-unpack.log" 2>&1; then
  check ".rpm unpacks to the .deb's files, byte for byte, same modes" diff <(sums "$scratch/deb") <(sums "$scratch/rpmroot")
else
  fail ".rpm unpacks (rpm -i --root)"
  tail -5 "$scratch/rpm-unpack.log"
fi
rpm -qp --requires "$rpm" >"$scratch/rpm-requires"
for need in 'libwebkit2gtk-4.1.so.0()(64bit)' 'libgtk-3.so.0()(64bit)' 'libc.so.6()(64bit)' google-noto-sans-cjk-fonts; do
  check ".rpm requires $need" grep -qxF "$need" "$scratch/rpm-requires"
done
check ".rpm runs the same scripts (user, tmpfiles, stop on removal)" \
  sh -c "rpm -qp --scripts '$rpm' | grep -q systemd-sysusers && rpm -qp --scripts '$rpm' | grep -q 'systemctl stop'"

# --- 2. install ------------------------------------------------------------------------------
section "apt-get install ./$(basename "$deb")"
# apt-get wants a path that looks like one (./ or /) to install a file rather than a package name.
if (cd "$(dirname "$deb")" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$deb")") \
  >"$scratch/install.log" 2>&1; then
  installed=yes
  pass "apt-get install ./$(basename "$deb")"
else
  fail "apt-get install ./$(basename "$deb")"
  tail -20 "$scratch/install.log"
  echo "tests/package: $passed passed, $failed failed, $skipped skipped"
  exit 1
fi
check "plantwatch is on the PATH as /usr/bin/plantwatch" sh -c '[ "$(command -v plantwatch)" = /usr/bin/plantwatch ]'
check "the system user plantwatch exists" getent passwd plantwatch
check "/etc/plantwatch exists" test -d /etc/plantwatch
check "plantwatch check on the installed demo plant" plantwatch check /usr/share/plantwatch/demo-plant.toml
check "systemd-analyze verify plantwatch-collect@$instance.service" \
  sh -c "systemd-analyze verify /usr/lib/systemd/system/plantwatch-collect@.service 2>&1 | (! grep .)"
security=$(systemd-analyze security --offline=true /usr/lib/systemd/system/plantwatch-collect@.service 2>&1 | tail -1)
echo "      systemd-analyze security: $security"
score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$security")
check "the unit's exposure is at most 2.0 (systemd-analyze security: $score)" \
  awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

# --- 3. the service ----------------------------------------------------------------------------
section "the collector service (systemd)"
plantwatch simulate --listen 127.0.0.1:0 >"$scratch/sim.log" 2>&1 &
sim_pid=$!
within 20 grep -q ' on tcp 127\.0\.0\.1:[0-9]' "$scratch/sim.log"
port=$(sed -n 's/.* on tcp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$scratch/sim.log" | head -1)
# The demo plant, pointed at the simulator, its picture at the installed path and its history where
# the service keeps it (so the window and export would find the same file).
sed -e "s/^port = 5020$/port = $port/" \
  -e 's|^file = "screens/|file = "/usr/share/plantwatch/screens/|' \
  -e "s|^path = \"demo-plant.db\"|path = \"$db\"|" /usr/share/plantwatch/demo-plant.toml >"$plant"
printf '[plant]\nname = "Broken"\nhots = 1\n' >"$broken"
check "plantwatch check $plant (simulator on port $port)" plantwatch check "$plant"

rows() { plantwatch export --db "$db" 2>/dev/null | tail -n +2 | wc -l; }
# Boots the container; sets nspawn_pid, leader and why (what booted, or why nothing could).
boot_container() {
  # The container's root is a tmpfs with this machine's /usr read-only (the installed package) and a
  # copy of its /etc (users, the plantwatch user), booting only basic.target; the plant files and
  # the history are this machine's own folders, bound in.
  mkdir -p /var/lib/plantwatch
  cp -a /etc "$scratch/etc"
  systemd-nspawn --quiet -D / --volatile=yes --register=no --keep-unit -M plantwatch-pkgtest \
    --bind="$scratch/etc:/etc" --bind-ro=/etc/plantwatch --bind=/var/lib/plantwatch \
    --boot -- --unit=basic.target </dev/null >"$scratch/nspawn.log" 2>&1 &
  nspawn_pid=$!
  within 30 pgrep -P "$nspawn_pid" -x systemd || { why="no systemd in the container: $(tail -3 "$scratch/nspawn.log")"; return 1; }
  leader=$(pgrep -P "$nspawn_pid" -x systemd)
  # systemctl talks to it through its private socket, which it makes a moment after it starts.
  within 30 in_container test -S /run/systemd/private || { why="the container's systemd has no bus: $(tail -3 "$scratch/nspawn.log")"; return 1; }
  local state
  state=$(timeout 90 nsenter -t "$leader" -m -u -i -n -p -r -w systemctl is-system-running --wait 2>&1)
  case "$state" in
    running | degraded) why="systemd $(in_container systemctl --version | head -1 | cut -d' ' -f2) booted in a container: $state" ;;
    *) why="the container did not finish booting: $state $(tail -3 "$scratch/nspawn.log")"; return 1 ;;
  esac
}
in_container() { nsenter -t "$leader" -m -u -i -n -p -r -w "$@"; }
prop() { in_container systemctl show -p "$2" --value "$1"; }
# unit_is UNIT PROPERTY VALUE: the container's systemd says so.
unit_is() { [ "$(prop "$1" "$2")" = "$3" ]; }
grows_beyond() { [ "$(rows)" -gt "$1" ]; }
restarted_once() { unit_is "$unit" NRestarts 1 && unit_is "$unit" ActiveState active; }
failed_for_good() { unit_is "$1" ActiveState failed && unit_is "$1" ExecMainStatus 2 && unit_is "$1" NRestarts 0; }

# systemd-nspawn is installed by .ci/setup (systemd-container): its absence is a failure. A machine
# where no container boots (no namespaces, no cgroups) skips the service, and says why.
if ! command -v systemd-nspawn >/dev/null; then
  fail "the collector service: systemd-nspawn is missing (Debian's systemd-container; bash .ci/setup install)"
elif boot_container; then
  echo "      $why"
  check "systemctl enable --now $unit" in_container systemctl enable --now "$unit"
  check "$unit is active" within 20 unit_is "$unit" ActiveState active
  has_rows() { [ "$(rows)" -gt 0 ]; }
  check "the history fills ($db)" within 30 has_rows
  first=$(rows)
  check "the history grows (plantwatch export: $first rows, then more)" within 30 grows_beyond "$first"
  check "it runs as the user plantwatch (owner of the history)" sh -c "[ \"\$(stat -c %U $db)\" = plantwatch ]"
  check "its lock file names the service (the window's refusal beside it)" grep -q "as service $unit" "$db.lock"
  online=$(in_container systemd-analyze security "$unit" 2>&1 | tail -1)
  echo "      systemd-analyze security (running): $online"

  start=$(date +%s%N)
  check "systemctl stop $unit" in_container systemctl stop "$unit"
  echo "      the stop took $((($(date +%s%N) - start) / 1000000)) ms"
  check "the stop is clean: Result=success, exit status 0 (every sample and alarm change stored)" \
    eval 'unit_is "$unit" Result success && unit_is "$unit" ExecMainStatus 0'
  in_container journalctl -u "$unit" -o cat --no-pager >"$out/journal.txt" 2>&1
  stored=$(sed -n 's/.* stopped: .*, \([0-9]*\) samples stored.*/\1/p' "$out/journal.txt" | tail -1)
  exported=$(rows)
  echo "      journal: $(grep -c . "$out/journal.txt") lines; last: $(grep ' stopped: ' "$out/journal.txt" | tail -1)"
  check "the journal has the collector's SIGTERM stop" grep -q 'SIGTERM: stopping' "$out/journal.txt"
  check "the history holds every sample the service stored ($stored stored, $exported exported)" \
    sh -c "[ -n '$stored' ] && [ '$stored' = '$exported' ]"
  check "the history file is intact (sqlite3 integrity_check)" sh -c "[ \"\$(sqlite3 -readonly $db 'pragma integrity_check')\" = ok ]"

  check "it starts again" in_container systemctl start "$unit"
  check "... and is active" within 20 unit_is "$unit" ActiveState active
  before=$(rows)
  in_container systemctl kill -s KILL --kill-whom=main "$unit"
  killed=$SECONDS
  check "after a kill -9 systemd restarts it (Restart=on-failure, RestartSec=10s)" \
    within 40 restarted_once
  echo "      restarted $((SECONDS - killed)) s after the kill"
  check "... and the history grows again" within 30 grows_beyond "$before"
  check "... and stops cleanly" in_container systemctl stop "$unit"

  bad=plantwatch-collect@$instance-broken.service
  in_container systemctl start "$bad"
  check "a bad plant file fails the unit with exit 2 and no restart" \
    within 30 failed_for_good "$bad"
  check "... and its journal names the file, line and key" \
    eval 'in_container journalctl -u "$bad" -o cat --no-pager | grep -qF "$broken:3:1: unknown key '"'hots'"'"'
  kill "$nspawn_pid"
  within 30 sh -c "! kill -0 $nspawn_pid" || kill -9 "$nspawn_pid" 2>/dev/null
  nspawn_pid=''
else
  skip "the collector service: no systemd could boot here ($why)"
fi
kill "$sim_pid" 2>/dev/null
sim_pid=''

# --- 4. the window -------------------------------------------------------------------------------
section "the window, from its desktop entry"
# The launcher's command: the entry's Exec line without field codes (%U, %f, ...).
exec_line=$(sed -n 's/^Exec=//p' /usr/share/applications/Plantwatch.desktop | head -1 | sed 's/ *%[a-zA-Z]//g')
wm_class=$(sed -n 's/^StartupWMClass=//p' /usr/share/applications/Plantwatch.desktop | head -1)
echo "      Exec=$exec_line StartupWMClass=$wm_class"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$scratch/display" >"$scratch/xvfb.log" 2>&1 &
xvfb_pid=$!
if within 20 test -s "$scratch/display"; then
  DISPLAY=":$(cat "$scratch/display")"
  export DISPLAY
  mkdir -p "$scratch/data"
  # A data folder of its own: the window opens the built-in simulated plant, as on a first start.
  PLANTWATCH_DATA_DIR="$scratch/data" PLANTWATCH_EXPORT_DIR="$scratch/exports" \
    sh -c "exec $exec_line" >"$scratch/window.log" 2>&1 &
  window_pid=$!
  check "the window opens (a top-level window named Plantwatch)" \
    within 60 sh -c "xwininfo -root -tree | grep -q '\"Plantwatch\": ('"
  check "its WM_CLASS matches the entry's StartupWMClass (the dock shows its icon)" \
    sh -c "xwininfo -root -tree | grep '\"Plantwatch\": (' | grep -q '\"$wm_class\"'"
  # Drawn: a page with text has thousands of colours; a window still loading has one or two.
  drawn() { import -window root "$scratch/shot.png" && [ "$(identify -format %k "$scratch/shot.png")" -gt 500 ]; }
  if within 60 drawn; then
    cp "$scratch/shot.png" "$out/window.png"
    pass "the window draws the plant: $out/window.png"
  else
    fail "the window draws the plant"
    tail -20 "$scratch/window.log"
  fi
  kill "$window_pid" 2>/dev/null
  window_pid=''
else
  fail "Xvfb did not start"
fi
kill "$xvfb_pid" 2>/dev/null
xvfb_pid=''

# --- 5. remove ---------------------------------------------------------------------------------
section "apt-get remove plantwatch"
touch "$db" # a history file, whether or not the service ran
check "apt-get remove -y plantwatch" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q plantwatch
installed=''
check "the binary is gone" test ! -e /usr/bin/plantwatch
check "the plant file is left in place ($plant)" test -s "$plant"
check "the history is left in place ($db)" test -e "$db"
check "the plantwatch user is left (it owns the history)" getent passwd plantwatch

echo
echo "tests/package: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
