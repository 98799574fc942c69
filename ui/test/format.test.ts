import { describe, expect, it } from "vitest";
import type { TagUpdate, WireCause } from "../src/bindings/ipc";
import { describeCause, formatAgo, formatNumber, formatValue, qualityBadge } from "../src/format";

const u = (v: TagUpdate["v"], q: TagUpdate["q"] = "good", cause: WireCause | null = null): TagUpdate => ({ i: 0, v, q, cause, t: 0, c: 0 });
const illegalAddress: WireCause = { kind: "exception", code: 2, name: "illegal data address" };

describe("values on screen", () => {
  it("shows integers as they are and fractions with few decimals", () => {
    expect(formatValue(u(42))).toBe("42");
    expect(formatValue(u(3.14159))).toBe("3.142");
    expect(formatValue(u(53.456))).toBe("53.46");
    expect(formatValue(u(1234.56))).toBe("1234.6");
  });
  it("shows booleans as ON/OFF and no value as a dash", () => {
    expect(formatValue(u(true))).toBe("ON");
    expect(formatValue(u(null))).toBe("—");
    expect(formatValue(undefined)).toBe("—");
  });
});

describe("quality", () => {
  it("tells stale apart from bad", () => {
    expect(qualityBadge(u(1, "uncertain", { kind: "stale" }))).toBe("STALE");
    expect(qualityBadge(u(1, "bad", { kind: "comm_lost" }))).toBe("COMM");
    expect(qualityBadge(u(1, "bad", { kind: "no_connection" }))).toBe("WAIT");
    expect(qualityBadge(u(1, "bad", illegalAddress))).toBe("BAD");
    expect(qualityBadge(u(1))).toBeNull();
  });
  it("explains causes in words", () => {
    // The name is the one Rust sent; the UI keeps no table of its own.
    expect(describeCause({ kind: "exception", code: 11, name: "gateway target device failed to respond" })).toBe(
      "Modbus exception 0B: gateway target device failed to respond",
    );
    expect(describeCause(illegalAddress)).toBe("Modbus exception 02: illegal data address");
    expect(describeCause({ kind: "stale" })).toMatch(/not refreshed/);
    expect(describeCause({ kind: "bad_reply" })).toBe("bad reply: the device answered with a malformed frame");
    expect(describeCause(null)).toBe("good");
  });
});

describe("ages", () => {
  it("uses seconds, minutes, then hours", () => {
    expect(formatAgo(10_000, 15_000)).toBe("5 s ago");
    expect(formatAgo(0, 600_000)).toBe("10 min ago");
    expect(formatAgo(0, 4 * 3_600_000)).toBe("4 h ago");
    expect(formatAgo(null, 0)).toBe("never");
  });
});

describe("plain numbers", () => {
  it("drop binary-float tails", () => {
    expect(formatNumber(16.900000000000002)).toBe("16.90");
    expect(formatNumber(10)).toBe("10");
    expect(formatNumber(null)).toBe("—");
  });
});
