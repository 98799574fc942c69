#!/usr/bin/env python3
"""The independent check of `plantwatch report`: recomputes a report's numbers from `plantwatch export`
CSV (time,tag,value,quality) with the rules README "Reports" states, and compares them with the report's
CSV. Written from the README, not from the Rust code, and by a different method: the window is cut at
every sample time and silence edge, and each piece takes the state of the last sample before it.

Usage: report_check.py --export EXPORT.csv --report REPORT.csv --from RFC3339 --to RFC3339
       --max-gap-ms N [--bool TAG]... [--xlsx REPORT.xlsx] [--journal ALARMS.csv]
With --xlsx, the workbook's Statistics sheet (read with openpyxl) must hold the same numbers. With
--journal (`plantwatch alarms` CSV over the window), the activations by priority and the most frequent
alarms must be those the journal's `active` rows count.
The export must span [from - max_gap, to + max_gap). Prints one line per mismatch and exits 1, or
`ok: N numbers, M gaps, K devices` and exits 0.
"""

import argparse
import bisect
import csv
import sys
from datetime import datetime, timezone

TOLERANCE = 1e-6
# Causes in which the device did not answer (README: availability).
SILENT = {"no_connection", "comm_lost", "bad_reply", "stale", "exception_0A", "exception_0B"}


def ms(text):
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def rfc3339(t):
    return datetime.fromtimestamp(t / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"


def silences(times, start, end, max_gap):
    """Stretches longer than max_gap without any sample, clipped to [start, end)."""
    out = []
    points = [start - max_gap] + sorted(set(times)) + [end + max_gap]
    for a, b in zip(points, points[1:]):
        # The export ends at end + max_gap: a silence running into that end is one too.
        if b - a > max_gap:
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                out.append((lo, hi))
    return out


def state_pieces(samples, start, end, quiet):
    """[(a, b, state)] covering [start, end); state is ('good', value) or ('gap', cause)."""
    cuts = {start, end}
    cuts.update(t for t, _, _ in samples if start < t < end)
    for a, b in quiet:
        cuts.update((a, b))
    cuts = sorted(c for c in cuts if start <= c <= end)
    times = [t for t, _, _ in samples]
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        if any(qa <= a < qb for qa, qb in quiet):
            state = ("gap", "no_data")
        else:
            i = bisect.bisect_right(times, a) - 1
            if i < 0:
                state = ("gap", "no_data")
            else:
                _, value, quality = samples[i]
                state = ("good", value) if quality == "good" else ("gap", quality)
        pieces.append((a, b, state))
    return pieces


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--export", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--max-gap-ms", type=int, required=True)
    p.add_argument("--bool", action="append", default=[])
    p.add_argument("--xlsx")
    p.add_argument("--journal")
    args = p.parse_args()
    start, end, max_gap = ms(args.start), ms(args.end), args.max_gap_ms

    samples = {}
    all_times = []
    with open(args.export, newline="") as f:
        for row in csv.DictReader(f):
            t = ms(row["time"])
            value = float(row["value"]) if row["value"] != "" else None
            samples.setdefault(row["tag"], []).append((t, value, row["quality"]))
            all_times.append(t)
    quiet = silences(all_times, start, end, max_gap)

    expected = {}  # (tag, item) -> value
    gaps = {}  # tag -> [(cause, from, to)]
    pieces_of = {}
    for tag, rows in samples.items():
        rows.sort(key=lambda r: r[0])
        inside = [r for r in rows if start <= r[0] < end]
        good = [v for _, v, q in inside if q == "good" and v is not None]
        pieces = state_pieces(rows, start, end, quiet)
        pieces_of[tag] = pieces
        good_ms = sum(b - a for a, b, s in pieces if s[0] == "good")
        weighted = sum((b - a) * s[1] for a, b, s in pieces if s[0] == "good" and s[1] is not None)
        e = expected
        e[(tag, "samples")] = len(inside)
        e[(tag, "min")] = min(good) if good else None
        e[(tag, "max")] = max(good) if good else None
        e[(tag, "avg")] = sum(good) / len(good) if good else None
        e[(tag, "twa")] = weighted / good_ms if good_ms else None
        e[(tag, "coverage")] = good_ms / (end - start)
        e[(tag, "mostly_gap")] = 1 if good_ms / (end - start) < 0.5 else 0
        if tag in args.bool:
            e[(tag, "time_true_s")] = sum(b - a for a, b, s in pieces if s == ("good", 1.0)) / 1000
            e[(tag, "time_false_s")] = sum(b - a for a, b, s in pieces if s == ("good", 0.0)) / 1000
            previous, starts = None, 0
            for t, v, q in rows:
                if t >= end:
                    break
                if q != "good" or v is None:
                    continue
                if t >= start and v == 1.0 and previous == 0.0:
                    starts += 1
                previous = v
            e[(tag, "starts")] = starts
        merged = []
        for a, b, s in pieces:
            if s[0] != "gap":
                continue
            if merged and merged[-1][0] == s[1] and merged[-1][2] == a:
                merged[-1][2] = b
            else:
                merged.append([s[1], a, b])
        gaps[tag] = [tuple(g) for g in merged]

    # Availability per device: answered where any tag is good or in a gap of a cause that is an answer.
    devices = {}
    for tag in samples:
        devices.setdefault(tag.split("/")[0], []).append(pieces_of[tag])
    availability = {}
    for device, tag_pieces in devices.items():
        cuts = sorted({c for pieces in tag_pieces for a, b, _ in pieces for c in (a, b)})
        answered = known = 0
        for a, b in zip(cuts, cuts[1:]):
            states = []
            for pieces in tag_pieces:
                states += [s for pa, pb, s in pieces if pa <= a < pb]
            if all(s == ("gap", "no_data") for s in states):
                continue
            known += b - a
            if any(s[0] == "good" or s[1].split(":", 1)[-1] not in SILENT for s in states if s != ("gap", "no_data")):
                answered += b - a
        availability[device] = (answered / known if known else None, known / 1000)

    problems, numbers, gap_count = [], 0, 0
    seen_gaps = {}
    by_priority, by_alarm = {}, {}
    if args.journal:
        with open(args.journal, newline="") as f:
            for row in csv.DictReader(f):
                if row["state"] == "active":
                    by_priority[row["priority"]] = by_priority.get(row["priority"], 0) + 1
                    key = (row["tag"], row["kind"])
                    by_alarm[key] = by_alarm.get(key, 0) + 1
    top_listed = []
    with open(args.report, newline="") as f:
        for row in csv.DictReader(f):
            section, subject, item, value = row["section"], row["subject"], row["item"], row["value"]
            if section == "stat":
                want = expected.get((subject, item), "missing")
                numbers += 1
                got = float(value) if value != "" else None
                if want == "missing":
                    problems.append(f"{subject} {item}: the export has no such tag or statistic")
                elif (want is None) != (got is None) or (
                    want is not None and abs(want - got) > TOLERANCE * max(1.0, abs(want))
                ):
                    problems.append(f"{subject} {item}: report {got}, independent {want}")
            elif section == "gap":
                seen_gaps.setdefault(subject, []).append((item, ms(row["from"]), ms(row["to"])))
                if abs(float(value) - (ms(row["to"]) - ms(row["from"])) / 1000) > TOLERANCE:
                    problems.append(f"gap {subject} {item}: duration {value} does not match its ends")
            elif section == "alarms" and args.journal:
                numbers += 1
                if int(value) != by_priority.get(subject, 0):
                    problems.append(f"alarms {subject}: report {value}, journal {by_priority.get(subject, 0)}")
            elif section == "top_alarm":
                top_listed.append(((subject, item), int(value)))
            elif section == "availability":
                share, known = availability.get(subject, (None, 0))
                want = share if item == "availability" else known
                got = float(value) if value != "" else None
                if (want is None) != (got is None) or (want is not None and abs(want - got) > TOLERANCE):
                    problems.append(f"{subject} {item}: report {got}, independent {want}")
    if args.journal:
        # The ten most frequent, most first; among equals any order (the report breaks ties by name).
        want_counts = sorted(by_alarm.values(), reverse=True)[:10]
        if [n for _, n in top_listed] != want_counts:
            problems.append(f"top alarms: report {top_listed}, journal counts {sorted(by_alarm.items())}")
        for key, n in top_listed:
            if by_alarm.get(key) != n:
                problems.append(f"top alarm {key}: report {n}, journal {by_alarm.get(key)}")
        if sum(by_priority.values()) == 0:
            problems.append("the journal has no activations in the window: nothing was checked")
    for tag, want in gaps.items():
        got = seen_gaps.get(tag, [])
        gap_count += len(want)
        if got != want:
            problems.append(
                f"{tag} gaps: report {[(c, rfc3339(a), rfc3339(b)) for c, a, b in got]}, "
                f"independent {[(c, rfc3339(a), rfc3339(b)) for c, a, b in want]}"
            )
    sheet_numbers = 0
    if args.xlsx:
        import openpyxl

        sheet = openpyxl.load_workbook(args.xlsx, read_only=True)["Statistics"]
        rows = list(sheet.iter_rows(values_only=True))
        columns = {"Samples": "samples", "Min": "min", "Max": "max", "Average": "avg",
                   "Time-weighted avg": "twa", "Coverage": "coverage", "Starts": "starts"}
        header = rows[0]
        if header[0] != "Tag":
            problems.append(f"xlsx: the Statistics sheet starts with {header!r}")
        for row in rows[1:]:
            for name, cell in zip(header, row):
                item = columns.get(name)
                if item is None or (row[0], item) not in expected:
                    continue
                want = expected[(row[0], item)]
                sheet_numbers += 1
                if (want is None) != (cell is None) or (
                    want is not None and abs(want - cell) > TOLERANCE * max(1.0, abs(want))
                ):
                    problems.append(f"xlsx {row[0]} {name}: workbook {cell}, independent {want}")
        if sheet_numbers == 0:
            problems.append("xlsx: no statistics found in the Statistics sheet")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(
        f"ok: {numbers} numbers, {gap_count} gaps, {len(availability)} devices, "
        f"{sheet_numbers} workbook cells, {sum(by_priority.values())} alarm activations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
