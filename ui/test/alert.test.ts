import { describe, expect, it } from "vitest";
import type { LiveBatch } from "../src/bindings/ipc";
import { shouldSound } from "../src/alert";
import { NO_ALARMS } from "../src/live";
import * as alert from "../src/alert";

const batch = (extra: Partial<LiveBatch> = {}): LiveBatch => ({
  at: 0,
  tags: [],
  devices: null,
  alarms: null,
  urgent: [],
  resync: false,
  ...extra,
});

describe("the alarm sound", () => {
  it("sounds when Rust names an urgent alarm and the setting is on", () => {
    const urgent = batch({ urgent: ["lift/level:hihi"] });
    expect(shouldSound(urgent, true)).toBe(true);
    expect(shouldSound(urgent, false)).toBe(false);
  });

  it("stays quiet when no alarm is named urgent, whatever the alarm picture holds", () => {
    // A new critical alarm in the picture is not the page's to judge: Rust names urgent alarms (it left
    // this one out, e.g. because it was shelved when it tripped).
    const critical = {
      id: "lift/level:hihi",
      source: "lift/level",
      kind: "hihi",
      priority: "critical" as const,
      state: "activeUnacked" as const,
      message: "Wet well overflowing",
      value: 4,
      limit: 3.6,
      since: 10,
      changed: 10,
      shelvedUntil: null,
      shelved: false,
      outOfService: false,
    };
    const picture = { ...NO_ALARMS, available: true, alarms: [critical], newest: critical };
    expect(shouldSound(batch({ alarms: picture }), true)).toBe(false);
  });

  it("keeps no rule of its own about priorities or states", () => {
    expect(Object.keys(alert).sort()).toEqual(["beep", "shouldSound"]);
  });
});
