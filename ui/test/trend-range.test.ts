import { describe, expect, it } from "vitest";
import { currentShift, pan, today, zoom } from "../src/trend-range";

const at = (y: number, m: number, d: number, h: number, min = 0) => new Date(y, m - 1, d, h, min).getTime();

describe("trend presets", () => {
  it("finds the current shift (06, 14, 22), including the night shift after midnight", () => {
    expect(currentShift(at(2026, 11, 25, 15, 30)).from).toBe(at(2026, 11, 25, 14));
    expect(currentShift(at(2026, 11, 25, 6, 0)).from).toBe(at(2026, 11, 25, 6));
    expect(currentShift(at(2026, 11, 25, 3, 0)).from).toBe(at(2026, 11, 24, 22));
    expect(currentShift(at(2026, 11, 25, 23, 0)).from).toBe(at(2026, 11, 25, 22));
  });
  it("starts today at local midnight", () => {
    expect(today(at(2026, 11, 25, 15)).from).toBe(at(2026, 11, 25, 0));
  });
});

describe("zoom and pan", () => {
  it("pans by a fraction of the span", () => {
    expect(pan({ from: 1000, to: 2000 }, -0.5)).toEqual({ from: 500, to: 1500 });
  });
  it("zooms around the middle and never below ten seconds", () => {
    expect(zoom({ from: 0, to: 100_000 }, 2)).toEqual({ from: -50_000, to: 150_000 });
    expect(zoom({ from: 0, to: 1000 }, 0.5)).toEqual({ from: -4500, to: 5500 });
  });
});
