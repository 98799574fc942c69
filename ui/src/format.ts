// How values, qualities and times are written on screen, in the window's language: words from the
// catalogs, dates, times and numbers through Intl in the chosen locale. Units stay as configured.
import type { QualityLevel, TagInfo, TagUpdate, WireCause } from "./bindings/ipc";
import { intlLocale, t } from "./i18n";

/** Intl formatters per locale and shape, made once (building one costs far more than using it). */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(digits: number): Intl.NumberFormat {
  const key = `n${digits}:${intlLocale()}`;
  let f = formatters.get(key) as Intl.NumberFormat | undefined;
  if (!f) {
    // No grouping: a plant display shows 1234.6, as the device and the config write it.
    f = new Intl.NumberFormat(intlLocale(), { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
    formatters.set(key, f);
  }
  return f;
}

function dateFormat(withDate: boolean): Intl.DateTimeFormat {
  const key = `d${withDate}:${intlLocale()}`;
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    // A 24-hour clock with seconds everywhere: shift logs and alarm times read the same in any locale.
    const clock: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    const date: Intl.DateTimeFormatOptions = withDate ? { year: "numeric", month: "2-digit", day: "2-digit" } : {};
    f = new Intl.DateTimeFormat(intlLocale(), { ...date, ...clock });
    formatters.set(key, f);
  }
  return f;
}

/** A number with a fixed count of decimals in the chosen locale (for rates, latencies, percentages). */
export function formatFixed(v: number, digits: number): string {
  return numberFormat(digits).format(v);
}

/** A plain number with the precision a display needs (no binary-float tails like 16.900000000000002). */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return formatValue({ i: 0, v, q: "good", cause: null, t: null, c: null });
}

/** A value with sensible precision for a plant display: 3 significant decimals at most. */
export function formatValue(u: TagUpdate | undefined, tag?: TagInfo): string {
  if (!u || u.v === null) return "—";
  if (typeof u.v === "boolean") return u.v ? t("common.ON") : t("common.OFF");
  if (typeof u.v === "string") return u.v;
  const v = u.v;
  if (tag?.boolean) return v ? t("common.ON") : t("common.OFF");
  const abs = Math.abs(v);
  if (Number.isInteger(v) && abs < 1e12) return numberFormat(0).format(v);
  const digits = abs >= 1000 ? 1 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return numberFormat(digits).format(v);
}

/** The cause of a bad or uncertain quality in words (shown on hover). The exception's name comes from
 * Rust with the cause; only the code is formatted here (two hex digits, as the device logs show it). */
export function describeCause(cause: WireCause | null): string {
  if (!cause) return t("quality.good");
  if (cause.kind === "exception") {
    const code = cause.code.toString(16).toUpperCase().padStart(2, "0");
    return t("quality.cause.exception", { code, name: cause.name });
  }
  return t(`quality.cause.${cause.kind}`);
}

/** CSS class for a quality level. */
export function qualityClass(q: QualityLevel | undefined): string {
  return q === "bad" ? "q-bad" : q === "uncertain" ? "q-uncertain" : "";
}

/** A short badge text for a non-good quality ("BAD", "STALE", ...). */
export function qualityBadge(u: TagUpdate | undefined): string | null {
  if (!u || u.q === "good") return null;
  if (u.cause?.kind === "stale") return t("quality.badge.stale");
  if (u.q === "uncertain") return t("quality.badge.uncertain");
  switch (u.cause?.kind) {
    case "comm_lost":
      return t("quality.badge.comm");
    case "no_connection":
      return t("quality.badge.wait");
    default:
      return t("quality.badge.bad");
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time, hours (24), minutes and seconds in the locale's form. */
export function formatClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return dateFormat(false).format(ms);
}

/** A time axis label in the locale's form: the date when the ticks are a day or more apart, else the
 * clock (with seconds when they are under a minute apart). */
export function formatAxisTime(ms: number, stepSeconds: number): string {
  const key = `a${stepSeconds >= 86_400 ? "d" : stepSeconds < 60 ? "s" : "m"}:${intlLocale()}`;
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      stepSeconds >= 86_400
        ? { month: "2-digit", day: "2-digit" }
        : { hour: "2-digit", minute: "2-digit", ...(stepSeconds < 60 ? { second: "2-digit" } : {}), hourCycle: "h23" };
    f = new Intl.DateTimeFormat(intlLocale(), options);
    formatters.set(key, f);
  }
  return f.format(ms);
}

/** Local date and time in the locale's form, with seconds. */
export function formatDateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return dateFormat(true).format(ms);
}

/** How long ago, in the largest sensible unit: "4 s ago", "12 min ago", "3 h ago" (or 秒前 ...). */
export function formatAgo(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return t("time.never");
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return t("time.secondsAgo", { count: s });
  if (s < 7200) return t("time.minutesAgo", { count: Math.round(s / 60) });
  return t("time.hoursAgo", { count: Math.round(s / 3600) });
}

/** Local datetime-local input text for a time. */
export function toInputTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
