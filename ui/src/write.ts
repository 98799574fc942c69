// The rules of the write controls, apart from the screens: who is shown a control, what a typed entry
// means, when a write must be confirmed, and how a result is worded. The Rust side checks role, range
// and type again on every write; these rules only decide what the page offers.
import type { RoleName, SessionView, TagInfo, WireValue, WriteInfo, WriteResult } from "./bindings/ipc";
import { t } from "./i18n";

/** A number as typed and written: exact to 10 significant digits, without float tails or padding
 * (1.2, not 1.200 or 1.2000000000000002). */
export function exact(v: number): string {
  return String(Number(v.toPrecision(10)));
}

const RANK: Record<RoleName, number> = { viewer: 0, operator: 1, engineer: 2, admin: 3 };

/** True when `role` is at least `least` (a role may do everything the roles below it may). */
export function roleAllows(role: RoleName, least: RoleName): boolean {
  return RANK[role] >= RANK[least];
}

/** The tag's write spec when the signed-in user may write it, else null (no control is shown). */
export function writableBy(tag: TagInfo, session: SessionView): WriteInfo | null {
  if (!tag.write || !session.users || session.user === null) return null;
  return roleAllows(session.role, tag.write.role) ? tag.write : null;
}

/** What kind of control a writable tag gets. */
export type ControlKind = "number" | "toggle" | "pulse" | "text";

export function controlKind(tag: TagInfo, write: WriteInfo): ControlKind {
  if (tag.boolean) return write.pulseMs !== null ? "pulse" : "toggle";
  return tag.valueType === "string" ? "text" : "number";
}

/** The accepted range as shown next to the entry: "0.5 – 3 m", "≥ 0 bar", "" when open. */
export function rangeText(write: WriteInfo, unit: string | null): string {
  const u = unit ? ` ${unit}` : "";
  if (write.min !== null && write.max !== null) return `${exact(write.min)} – ${exact(write.max)}${u}`;
  if (write.min !== null) return `≥ ${exact(write.min)}${u}`;
  if (write.max !== null) return `≤ ${exact(write.max)}${u}`;
  return "";
}

/** A typed number: a value, or why it is not one (the range itself is the Rust side's to refuse, but
 * the page says so before asking). */
export function parseEntry(text: string, write: WriteInfo): { value: number } | { problem: string } {
  const typed = text.trim().replace(",", ".");
  if (typed === "") return { problem: t("write.enterValue") };
  const value = Number(typed);
  if (!Number.isFinite(value)) return { problem: t("write.notANumber", { text: text.trim() }) };
  if ((write.min !== null && value < write.min) || (write.max !== null && value > write.max)) {
    return { problem: t("write.outOfRange", { range: rangeText(write, null) }) };
  }
  return { value };
}

/**
 * True when a write must be confirmed first: every boolean write (toggles and pulses), and a number
 * when the tag asks for confirmation or the change is more than 10 % of its range.
 */
export function needsConfirm(tag: TagInfo, write: WriteInfo, old: WireValue | null, next: WireValue): boolean {
  if (tag.boolean || typeof next === "boolean") return true;
  if (write.confirm !== null) return true;
  if (typeof next !== "number" || typeof old !== "number") return false;
  if (write.min === null || write.max === null || write.max <= write.min) return false;
  return Math.abs(next - old) > 0.1 * (write.max - write.min);
}

/** A value as the confirmation and results name it, with its unit. */
export function valueText(v: WireValue | null, tag: TagInfo): string {
  if (v === null) return t("write.unknown");
  if (typeof v === "boolean" || tag.boolean) return v ? t("common.ON") : t("common.OFF");
  if (typeof v === "string") return t("write.quoted", { text: v });
  return tag.unit ? `${exact(v)} ${tag.unit}` : exact(v);
}

/** The confirmation's sentence: tag, old value, new value and unit. */
export function confirmText(tag: TagInfo, write: WriteInfo, old: WireValue | null, next: WireValue, pulse: boolean): string {
  const what = pulse
    ? t("write.confirmPulse", { id: tag.id, ms: write.pulseMs })
    : t("write.confirmChange", { id: tag.id, old: valueText(old, tag), next: valueText(next, tag) });
  // The plant's own question (its config's `confirm`) comes first, in the plant's words.
  return write.confirm ? t("write.confirmWith", { question: write.confirm, what }) : what;
}

/** The result in the words the user is shown: done, mismatch, refused (exception N), failed, denied,
 * out of range, invalid — with what makes each one useful. */
export function resultText(r: WriteResult, tag: TagInfo): string {
  switch (r.result) {
    case "done":
      return t("write.result.done", { value: valueText(r.readback ?? r.requested, tag) });
    case "mismatch":
      return t("write.result.mismatch", { requested: valueText(r.requested, tag), readback: valueText(r.readback, tag) });
    case "refused":
      return t("write.result.refused", { code: r.code ?? "?" });
    case "failed":
      return r.reason ? t("write.result.failedWhy", { reason: r.reason }) : t("write.result.failed");
    case "denied":
      return r.needed ? t("write.result.deniedNeeds", { role: t(`role.${r.needed}`) }) : t("write.result.denied");
    case "outOfRange": {
      const range = rangeText({ role: "operator", min: r.min, max: r.max, confirm: null, pulseMs: null }, tag.unit);
      return range ? t("write.result.outOfRangeWhy", { range }) : t("write.result.outOfRange");
    }
    case "invalid":
      return r.reason ? t("write.result.invalidWhy", { reason: r.reason }) : t("write.result.invalid");
  }
}

/** True for results that leave the plant as asked. */
export function succeeded(r: WriteResult): boolean {
  return r.result === "done";
}
