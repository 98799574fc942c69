import { describe, expect, it } from "vitest";
import type { SessionView, TagInfo, WriteInfo, WriteResult } from "../src/bindings/ipc";
import { NO_SESSION } from "../src/context";
import { confirmText, controlKind, needsConfirm, parseEntry, rangeText, resultText, roleAllows, writableBy } from "../src/write";
import { tag } from "./fixtures";

const setpoint: WriteInfo = { role: "operator", min: 0.5, max: 3, confirm: null, pulseMs: null };
const startLevel: TagInfo = tag(3, 0, "plc/start_level", { unit: "m", write: setpoint });
const pump: TagInfo = tag(4, 0, "plc/pump1_run", { boolean: true, valueType: "bool", table: "coil", write: { ...setpoint, min: null, max: null, confirm: "Start pump 1?" } });
const reset: TagInfo = tag(5, 0, "plc/fault_reset", { boolean: true, valueType: "bool", table: "coil", write: { ...setpoint, min: null, max: null, pulseMs: 500 } });
const signedIn = (role: SessionView["role"]): SessionView => ({ ...NO_SESSION, users: true, user: "anna", role, alarmActions: role !== "viewer", audit: role === "engineer" || role === "admin" });

const result = (r: Partial<WriteResult>): WriteResult => ({
  tag: 3,
  result: "done",
  old: 1,
  requested: 1.2,
  readback: 1.2,
  code: null,
  needed: null,
  min: null,
  max: null,
  reason: null,
  message: "",
  auditError: null,
  ...r,
});

describe("who is shown a write control", () => {
  it("a signed-in user whose role is at least the tag's", () => {
    expect(writableBy(startLevel, signedIn("operator"))).toEqual(setpoint);
    expect(writableBy(startLevel, signedIn("admin"))).toEqual(setpoint);
    expect(writableBy({ ...startLevel, write: { ...setpoint, role: "engineer" } }, signedIn("operator"))).toBeNull();
  });

  it("nobody on a plant without users, nobody signed out, and never for a read-only tag", () => {
    expect(writableBy(startLevel, NO_SESSION)).toBeNull();
    expect(writableBy(startLevel, { ...signedIn("admin"), user: null })).toBeNull();
    expect(writableBy({ ...startLevel, write: null }, signedIn("admin"))).toBeNull();
  });

  it("roles allow what the roles below them allow", () => {
    expect(roleAllows("engineer", "operator")).toBe(true);
    expect(roleAllows("operator", "engineer")).toBe(false);
    expect(roleAllows("viewer", "operator")).toBe(false);
  });
});

describe("the control", () => {
  it("is a number entry, a toggle or a pulse button", () => {
    expect(controlKind(startLevel, startLevel.write!)).toBe("number");
    expect(controlKind(pump, pump.write!)).toBe("toggle");
    expect(controlKind(reset, reset.write!)).toBe("pulse");
  });

  it("shows the range with the unit", () => {
    expect(rangeText(setpoint, "m")).toBe("0.5 – 3 m");
    expect(rangeText({ ...setpoint, max: null }, "bar")).toBe("≥ 0.5 bar");
    expect(rangeText({ ...setpoint, min: null, max: null }, "m")).toBe("");
  });

  it("reads a typed number, a decimal comma too, and says what is wrong with anything else", () => {
    expect(parseEntry(" 1,25 ", setpoint)).toEqual({ value: 1.25 });
    expect(parseEntry("", setpoint)).toEqual({ problem: "enter a value" });
    expect(parseEntry("abc", setpoint)).toEqual({ problem: "not a number: abc" });
    expect(parseEntry("3.5", setpoint)).toEqual({ problem: "out of range (0.5 – 3)" });
  });
});

describe("confirmation", () => {
  it("is asked for every boolean write", () => {
    expect(needsConfirm(pump, pump.write!, false, true)).toBe(true);
    expect(needsConfirm(reset, reset.write!, false, true)).toBe(true);
  });

  it("is asked for a number when the tag says so or the change is over 10 % of the range", () => {
    // The range is 2.5 m wide: 0.25 m is 10 %.
    expect(needsConfirm(startLevel, setpoint, 1.0, 1.25)).toBe(false);
    expect(needsConfirm(startLevel, setpoint, 1.0, 1.3)).toBe(true);
    expect(needsConfirm(startLevel, setpoint, 1.0, 0.7)).toBe(true);
    expect(needsConfirm(startLevel, { ...setpoint, confirm: "Change the start level?" }, 1.0, 1.01)).toBe(true);
    expect(needsConfirm(startLevel, { ...setpoint, max: null }, 1.0, 9)).toBe(false);
  });

  it("names the tag, the old and the new value with the unit", () => {
    expect(confirmText(startLevel, setpoint, 1, 2.5, false)).toBe("Change plc/start_level from 1 m to 2.5 m?");
    expect(confirmText(pump, pump.write!, false, true, false)).toBe("Start pump 1? Change plc/pump1_run from OFF to ON?");
    expect(confirmText(reset, reset.write!, false, true, true)).toBe("Pulse plc/fault_reset (ON for 500 ms)?");
  });
});

describe("results", () => {
  it("are worded done, mismatch, refused (exception N), failed, denied, out of range", () => {
    expect(resultText(result({}), startLevel)).toBe("done: 1.2 m");
    expect(resultText(result({ result: "mismatch", requested: 3, readback: 2.5 }), startLevel)).toBe("mismatch: wrote 3 m, reads 2.5 m");
    expect(resultText(result({ result: "refused", code: 2 }), startLevel)).toBe("refused (exception 2)");
    expect(resultText(result({ result: "failed", reason: "timeout after 500 ms" }), startLevel)).toBe("failed: timeout after 500 ms");
    expect(resultText(result({ result: "denied", needed: "engineer" }), startLevel)).toBe("denied: needs engineer");
    expect(resultText(result({ result: "outOfRange", min: 0.5, max: 3 }), startLevel)).toBe("out of range (0.5 – 3 m)");
  });
});
