#!/usr/bin/env python3
"""The independent half of the collect soak (see collect_soak.sh): reads what Plantwatch stored, through
its CSV exports only, and checks it against the plant config with none of Plantwatch's own code.

- Alarms: replays the demo plant's alarm rules (limits with deadband and on/off delays, states, and one
  communication alarm per device) over the exported history and compares the transitions it expects
  (active, cleared) with the journal's, per alarm and direction, within a tolerance: the alarm service
  sees every reading, the history only those worth storing (deadband), so times may differ a little.
- Samples: every tag has a sample at least every heartbeat (60 s) of history time while its device is
  online, except across the kill -9 window (the last second before the kill, as the README documents,
  to the collector's first polls after the restart).
- Memory, integrity and counts: from the collector's RSS samples and the shell's PRAGMA integrity_check.

Prints the table; exits 1 when anything was lost.
"""

import argparse
import csv
import re
import sys
import tomllib
from collections import defaultdict
from datetime import datetime

HEARTBEAT_S = 60.0
# Poll period (1 s), the writer's batching (0.5 s) and scheduling on a loaded machine.
HEARTBEAT_SLACK_S = 3.0
# How long after a restart the first polls may take to be stored.
RESTART_SLACK_S = 10.0
# The README: a kill -9 loses at most the last second.
KILL_LOSS_S = 1.0
# Journal and replay times of one transition may differ by the readings history did not store.
MATCH_TOLERANCE_S = 10.0


def seconds(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def number(text):
    if text in ("true", "false"):
        return 1.0 if text == "true" else 0.0
    try:
        return float(text)
    except ValueError:
        return None


class Rule:
    """One alarm of the plant config, and its replay (the ISA-18.2 condition with delays)."""

    def __init__(self, key, kind, limit=None, value=None, deadband=0.0, on_delay=0.0, off_delay=0.0):
        self.key, self.kind, self.limit, self.value = key, kind, limit, value
        self.deadband, self.on_delay, self.off_delay = deadband, on_delay, off_delay
        self.in_effect = False
        self.pending_since = None
        self.flips = []

    def evidence(self, value, quality):
        """True (alarm), False (normal) or None (unknown: bad or uncertain data is no evidence)."""
        if quality != "good" or value is None:
            return None
        if self.kind == "state":
            return (value != 0.0) == self.value
        v = value
        if v != v:
            return None
        high = self.kind in ("hi", "hihi")
        if high:
            return v > (self.limit - self.deadband if self.in_effect else self.limit)
        return v < (self.limit + self.deadband if self.in_effect else self.limit)

    def advance(self, now):
        if self.pending_since is None:
            return
        due = self.pending_since + (self.off_delay if self.in_effect else self.on_delay)
        if now >= due:
            self.in_effect = not self.in_effect
            self.pending_since = None
            self.flips.append((due, "active" if self.in_effect else "cleared"))

    def observe(self, at, wants):
        self.advance(at)
        if wants is None:
            self.pending_since = None
            return
        if wants == self.in_effect:
            self.pending_since = None
            return
        if self.pending_since is None:
            self.pending_since = at
        self.advance(at)


def plant_rules(plant):
    """Tag alarms by tag key (device/tag), and the devices with their tag keys."""
    by_tag = defaultdict(list)
    devices = {}
    for device in plant["devices"]:
        keys = []
        for tag in device.get("tags", []):
            key = f"{device['id']}/{tag['id']}"
            keys.append(key)
            for alarm in tag.get("alarms", []):
                kind = alarm["kind"]
                by_tag[key].append(
                    Rule(
                        f"{key}:{kind}",
                        kind,
                        limit=alarm.get("limit"),
                        value=alarm.get("value"),
                        deadband=max(0.0, float(alarm.get("deadband", 0.0))),
                        on_delay=float(alarm.get("on_delay_s", 0.0)),
                        off_delay=float(alarm.get("off_delay_s", 0.0)),
                    )
                )
        devices[device["id"]] = keys
    return by_tag, devices


def replay(samples, by_tag, devices, end):
    """Expected transitions: {alarm key: [(time, 'active'|'cleared')]}."""
    expected = {}
    for key, rules in by_tag.items():
        for t, value, quality in samples.get(key, []):
            for rule in rules:
                rule.observe(t, rule.evidence(value, quality))
        for rule in rules:
            rule.advance(end)
            expected[rule.key] = rule.flips
    # A device is offline from a reading that says the link is lost to its next reading that does not.
    for device, keys in devices.items():
        readings = sorted((t, q) for key in keys for t, _, q in samples.get(key, []))
        offline, flips = False, []
        for t, quality in readings:
            lost = quality == "bad:comm_lost"
            if lost != offline:
                offline = lost
                flips.append((t, "active" if lost else "cleared"))
        expected[f"{device}:comm"] = flips
    return expected


def journaled(rows):
    got = defaultdict(list)
    for row in rows:
        if row["state"] in ("active", "cleared"):
            got[f"{row['tag']}:{row['kind']}"].append((seconds(row["time"]), row["state"]))
    return got


def match(expected, got):
    """Pairs each expected transition with a journaled one of the same alarm and direction within the
    tolerance, in time order. Returns the unmatched of each side."""
    missing, extra = [], []
    for key in sorted(set(expected) | set(got)):
        left = sorted(got.get(key, []))
        for t, state in expected.get(key, []):
            hit = next(
                (i for i, (u, s) in enumerate(left) if s == state and abs(u - t) <= MATCH_TOLERANCE_S),
                None,
            )
            if hit is None:
                missing.append((t, key, state))
            else:
                left.pop(hit)
        extra.extend((u, key, s) for u, s in left)
    return sorted(missing), sorted(extra)


def gaps(samples, devices, events, end):
    """Stretches longer than the heartbeat with no sample of a tag whose device was online."""
    kill, restart = events.get("kill"), events.get("restart")
    found = []
    for keys in devices.values():
        for key in keys:
            rows = samples.get(key, [])
            if not rows:
                found.append((events["start"], key, "no sample at all"))
                continue
            times = [(t, q) for t, _, q in rows] + [(end, "end")]
            for (t0, q0), (t1, _) in zip(times, times[1:]):
                length = t1 - t0
                if length <= HEARTBEAT_S + HEARTBEAT_SLACK_S:
                    continue
                if q0 == "bad:comm_lost":
                    continue  # the device was offline: nothing to store until it answers
                if kill is not None and t0 < kill < t1:
                    before = (kill - KILL_LOSS_S) - t0
                    after = t1 - restart
                    if before <= HEARTBEAT_S + HEARTBEAT_SLACK_S and after <= RESTART_SLACK_S:
                        continue
                found.append((t0, key, f"{length:.1f} s without a sample, until {t1 - events['start']:.1f} s"))
    return sorted(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", required=True)
    parser.add_argument("--history", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--rss", required=True)
    parser.add_argument("--integrity", required=True)
    parser.add_argument("--collector-logs", nargs="*", default=[])
    args = parser.parse_args()

    with open(args.plant, "rb") as f:
        by_tag, devices = plant_rules(tomllib.load(f))
    events, locks = {}, []
    with open(args.events) as f:
        for line in f:
            word, at, *_ = line.split()
            if word == "lock":
                locks.append([float(at), None])
            elif word == "unlock" and locks:
                locks[-1][1] = float(at)
            else:
                events[word] = float(at)
    end = events["stop"]

    samples = defaultdict(list)
    count = 0
    with open(args.history, newline="") as f:
        for row in csv.DictReader(f):
            samples[row["tag"]].append((seconds(row["time"]), number(row["value"]), row["quality"]))
            count += 1
    for rows in samples.values():
        rows.sort(key=lambda r: r[0])
    with open(args.journal, newline="") as f:
        got = journaled(csv.DictReader(f))

    expected = replay(samples, by_tag, devices, end)
    missing, extra = match(expected, got)
    holes = gaps(samples, devices, events, end)

    rss = []
    with open(args.rss) as f:
        for line in f:
            at, kb, pid = line.split()
            rss.append((float(at), int(kb), pid))
    first_pid = rss[0][2] if rss else None
    second = [r for r in rss if r[2] != first_pid]

    n_expected = sum(len(v) for v in expected.values())
    n_got = sum(len(v) for v in got.values())
    t0 = events["start"]
    rows = [
        ("duration", f"{(end - t0) / 60:.1f} min (kill -9 at {events['kill'] - t0:.0f} s, restart at {events['restart'] - t0:.0f} s)"),
        ("database locks held 10 s", f"{sum(1 for a, b in locks if b)} (at {', '.join(f'{a - t0:.0f} s' for a, _ in locks)})"),
        ("max RSS", f"{max(r[1] for r in rss) / 1024:.1f} MiB" if rss else "no sample"),
        ("RSS at start / before kill", f"{rss[0][1] / 1024:.1f} / {[r for r in rss if r[2] == first_pid][-1][1] / 1024:.1f} MiB" if rss else "-"),
        ("RSS after restart / at end", f"{second[0][1] / 1024:.1f} / {second[-1][1] / 1024:.1f} MiB" if second else "-"),
        ("samples stored", str(count)),
        ("alarm transitions expected", str(n_expected)),
        ("alarm transitions journaled", str(n_got)),
        ("alarm transitions missing", str(len(missing))),
        ("journaled, not expected", str(len(extra))),
        ("gaps found", str(len(holes))),
        ("integrity", args.integrity),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for what, items in (("missing", missing), ("journaled but not expected", extra), ("gap", holes)):
        for t, key, detail in items[:40]:
            print(f"  {what}: {key} at {t - t0:.1f} s: {detail}")
        if len(items) > 40:
            print(f"  ... and {len(items) - 40} more")
    for log in args.collector_logs:
        try:
            with open(log) as f:
                # The collector colours its log lines when it can; the table is plain text.
                lines = [re.sub(r"\x1b\[[0-9;]*m", "", l).rstrip() for l in f if l.strip()]
        except OSError:
            continue
        status = [l for l in lines if "samples stored" in l]
        warnings = [l for l in lines if "WARN" in l or "ERROR" in l]
        print(f"  {log}: {status[-1] if status else 'no status line'}; {len(warnings)} warnings logged")
        for line in warnings[:5]:
            print(f"    {line}")
    lost = missing or holes or args.integrity != "ok"
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
