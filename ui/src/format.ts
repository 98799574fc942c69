// How values, qualities and times are written on screen.
import type { QualityLevel, TagInfo, TagUpdate, WireCause } from "./bindings/ipc";

/** A plain number with the precision a display needs (no binary-float tails like 16.900000000000002). */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return formatValue({ i: 0, v, q: "good", cause: null, t: null, c: null });
}

/** A value with sensible precision for a plant display: 3 significant decimals at most. */
export function formatValue(u: TagUpdate | undefined, tag?: TagInfo): string {
  if (!u || u.v === null) return "—";
  if (typeof u.v === "boolean") return u.v ? "ON" : "OFF";
  if (typeof u.v === "string") return u.v;
  const v = u.v;
  if (tag?.boolean) return v ? "ON" : "OFF";
  const abs = Math.abs(v);
  if (Number.isInteger(v) && abs < 1e12) return String(v);
  const digits = abs >= 1000 ? 1 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return v.toFixed(digits);
}

/** The cause of a bad or uncertain quality in words (shown on hover). The exception's name comes from
 * Rust with the cause; only the code is formatted here (two hex digits, as the device logs show it). */
export function describeCause(cause: WireCause | null): string {
  if (!cause) return "good";
  switch (cause.kind) {
    case "no_connection":
      return "no answer from the device yet";
    case "comm_lost":
      return "communication lost: the device does not answer";
    case "config":
      return "configuration: the device lacks this address";
    case "stale":
      return "stale: the last usable value, not refreshed in time";
    case "not_a_number":
      return "sensor fault: the device sent a value that is not a number";
    case "bad_reply":
      return "bad reply: the device answered with a malformed frame";
    case "exception": {
      const code = cause.code.toString(16).toUpperCase().padStart(2, "0");
      return `Modbus exception ${code}: ${cause.name}`;
    }
  }
}

/** CSS class for a quality level. */
export function qualityClass(q: QualityLevel | undefined): string {
  return q === "bad" ? "q-bad" : q === "uncertain" ? "q-uncertain" : "";
}

/** A short badge text for a non-good quality ("BAD", "STALE", ...). */
export function qualityBadge(u: TagUpdate | undefined): string | null {
  if (!u || u.q === "good") return null;
  if (u.cause?.kind === "stale") return "STALE";
  if (u.q === "uncertain") return "UNCERTAIN";
  switch (u.cause?.kind) {
    case "comm_lost":
      return "COMM";
    case "no_connection":
      return "WAIT";
    default:
      return "BAD";
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time, HH:MM:SS. */
export function formatClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local date and time, YYYY-MM-DD HH:MM:SS. */
export function formatDateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(ms)}`;
}

/** How long ago, in the largest sensible unit: "4 s", "12 min", "3 h". */
export function formatAgo(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Local datetime-local input text for a time. */
export function toInputTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
