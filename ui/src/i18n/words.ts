// The plant's fixed words that cross the wire as text (an alarm's kind, a journal entry's state): shown
// in the window's language when the catalogs know the word, else as sent (a newer backend may add one).
import { t } from ".";

const KINDS = ["hihi", "hi", "lo", "lolo", "state", "comm", "history_disk_low", "report_failed"] as const;
const JOURNAL_STATES = ["active", "cleared", "acknowledged", "shelved", "unshelved", "shelve_expired", "out_of_service", "in_service"] as const;

const isOneOf = <T extends string>(words: readonly T[], word: string): word is T => (words as readonly string[]).includes(word);

/** An alarm's kind (`hihi`, `comm`, ...) in words. */
export function alarmKind(kind: string): string {
  return isOneOf(KINDS, kind) ? t(`alarmKind.${kind}`) : kind;
}

/** A journal entry's state (`active`, `acknowledged`, ...) in words. */
export function journalState(state: string): string {
  return isOneOf(JOURNAL_STATES, state) ? t(`journal.state.${state}`) : state;
}

/** A priority as the journal sends it (text) in words. */
export function priorityWord(priority: string): string {
  return isOneOf(["critical", "high", "medium", "low"] as const, priority) ? t(`priority.${priority}`) : priority;
}
