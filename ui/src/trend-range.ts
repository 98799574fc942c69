// Time ranges of the trend screen: rolling spans, the current shift and today, zoom and pan.

export interface Range {
  from: number;
  to: number;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The rolling spans of the trend screen; each id names its label in the catalogs (`trends.span.<id>`). */
export const SPANS = [
  { id: "10m", span: 10 * MINUTE },
  { id: "1h", span: HOUR },
  { id: "8h", span: 8 * HOUR },
  { id: "24h", span: DAY },
  { id: "7d", span: 7 * DAY },
  { id: "30d", span: 30 * DAY },
  { id: "1y", span: 365 * DAY },
] as const;

/** Shifts start at 06:00, 14:00 and 22:00 local time. */
export const SHIFT_STARTS = [6, 14, 22];

/** The shift that contains `now` (local time), from its start to now. */
export function currentShift(now: number): Range {
  const d = new Date(now);
  const hour = d.getHours();
  const start = new Date(d);
  start.setMinutes(0, 0, 0);
  const begins = [...SHIFT_STARTS].reverse().find((h) => h <= hour);
  if (begins === undefined) {
    // Before 06:00: the night shift began at 22:00 yesterday.
    start.setDate(start.getDate() - 1);
    start.setHours(SHIFT_STARTS[SHIFT_STARTS.length - 1]);
  } else {
    start.setHours(begins);
  }
  return { from: start.getTime(), to: now };
}

/** Today from local midnight to now. */
export function today(now: number): Range {
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  return { from: start.getTime(), to: now };
}

/** The range moved by a fraction of its span (negative: back in time). */
export function pan(r: Range, fraction: number): Range {
  const shift = Math.round((r.to - r.from) * fraction);
  return { from: r.from + shift, to: r.to + shift };
}

/** The range widened (factor > 1) or narrowed around its middle; never under 10 s. */
export function zoom(r: Range, factor: number): Range {
  const mid = (r.from + r.to) / 2;
  const half = Math.max(5_000, ((r.to - r.from) * factor) / 2);
  return { from: Math.round(mid - half), to: Math.round(mid + half) };
}
