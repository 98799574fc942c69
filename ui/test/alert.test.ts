import { describe, expect, it } from "vitest";
import type { AlarmRow, AlarmView } from "../src/bindings/ipc";
import { newUrgentAlarms, shouldSound } from "../src/alert";
import { NO_ALARMS } from "../src/live";

const row = (id: string, priority: AlarmRow["priority"], since: number, state: AlarmRow["state"] = "activeUnacked"): AlarmRow => ({
  id,
  source: id.split(":")[0],
  kind: id.split(":")[1],
  priority,
  state,
  message: `${id} message`,
  value: 4,
  limit: 3.6,
  since,
  changed: since,
  shelvedUntil: null,
  shelved: false,
  outOfService: false,
});

const view = (alarms: AlarmRow[], apart: Partial<AlarmView> = {}): AlarmView => ({ ...NO_ALARMS, available: true, alarms, ...apart });

const ids = (rows: AlarmRow[]) => rows.map((a) => a.id);

describe("the alarm sound", () => {
  const quiet = view([]);

  it("sounds for a new critical or high alarm when the setting is on", () => {
    const next = view([row("lift/level:hihi", "critical", 10), row("lift/trip:state", "high", 11)]);
    expect(ids(newUrgentAlarms(quiet, next))).toEqual(["lift/level:hihi", "lift/trip:state"]);
    expect(shouldSound(quiet, next, true)).toBe(true);
    expect(shouldSound(quiet, next, false)).toBe(false);
  });

  it("stays quiet for medium and low alarms", () => {
    const next = view([row("lift/level:lo", "medium", 10), row("lift/temp:hi", "low", 11)]);
    expect(shouldSound(quiet, next, true)).toBe(false);
  });

  it("does not sound again for an alarm already shown, acknowledged or cleared", () => {
    const first = view([row("lift/level:hihi", "critical", 10)]);
    expect(shouldSound(first, view([row("lift/level:hihi", "critical", 10)]), true)).toBe(false);
    expect(shouldSound(first, view([row("lift/level:hihi", "critical", 10, "activeAcked")]), true)).toBe(false);
    expect(shouldSound(first, view([row("lift/level:hihi", "critical", 10, "returnedUnacked")]), true)).toBe(false);
  });

  it("sounds when the same alarm becomes active again later", () => {
    const before = view([row("lift/level:hihi", "critical", 10, "returnedUnacked")]);
    expect(shouldSound(before, view([row("lift/level:hihi", "critical", 99)]), true)).toBe(true);
  });

  it("does not announce shelved or out-of-service alarms, nor one coming back from a shelve", () => {
    const shelved = row("lift/level:hi", "high", 10);
    const hidden = view([], { shelved: [{ ...shelved, shelved: true }], outOfService: [row("lift/trip:state", "high", 12)] });
    expect(shouldSound(quiet, hidden, true)).toBe(false);
    expect(shouldSound(hidden, view([shelved]), true)).toBe(false);
  });

  it("stays quiet on the first alarm picture after start", () => {
    expect(shouldSound(NO_ALARMS, view([row("lift/level:hihi", "critical", 10)]), true)).toBe(false);
  });
});
