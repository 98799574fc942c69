// The alarm journal: every transition and operator action, filtered, exportable as CSV.
import { useEffect, useState } from "preact/hooks";
import type { JournalQuery, JournalRow, PriorityName, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";
import { useT } from "../i18n";
import { alarmKind, journalState, priorityWord } from "../i18n/words";
import { alarmMessage } from "../plant-text";
import { DAY, HOUR } from "../trend-range";

const RANGES = [
  { id: "1h", label: "common.lastHour", span: HOUR },
  { id: "24h", label: "common.last24h", span: DAY },
  { id: "7d", label: "common.last7d", span: 7 * DAY },
  { id: "all", label: "common.all", span: 0 },
] as const;

const PRIORITIES: PriorityName[] = ["critical", "high", "medium", "low"];

export function Journal() {
  const t = useT();
  const { backend, store } = useServices();
  // The plant's Chinese messages; read, not subscribed to (the journal need not repaint per live batch).
  const plant = store.plant;
  const [range, setRange] = useState("24h");
  const [text, setText] = useState("");
  const [priority, setPriority] = useState<PriorityName | "">("");
  const [rows, setRows] = useState<JournalRow[]>([]);
  const [error, setError] = useState<UiError | null>(null);
  const [status, setStatus] = useState("");

  const query = (): JournalQuery => {
    const span = RANGES.find((r) => r.id === range)?.span ?? 0;
    return {
      from: span > 0 ? Date.now() - span : null,
      to: null,
      text: text.trim() === "" ? null : text.trim(),
      priority: priority === "" ? null : priority,
      limit: 2000,
    };
  };

  const load = async () => {
    try {
      setRows(await backend.alarmJournal(query()));
      setError(null);
    } catch (e) {
      setError(e as UiError);
    }
  };

  useEffect(() => {
    load();
    const id = setInterval(load, 3000);
    return () => clearInterval(id);
  }, [range, text, priority]);

  const exportCsv = async () => {
    try {
      setStatus(t("common.savedCsv", { path: await backend.exportJournal(query()) }));
    } catch (e) {
      setError(e as UiError);
    }
  };

  return (
    <section aria-label={t("journal.label")}>
      <div class="toolbar">
        <h2>{t("journal.title")}</h2>
        <select aria-label={t("common.timeRange")} value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {RANGES.map((r) => (
            <option value={r.id}>{t(r.label)}</option>
          ))}
        </select>
        <select
          aria-label={t("journal.priority")}
          value={priority}
          onChange={(e) => setPriority((e.currentTarget as HTMLSelectElement).value as PriorityName | "")}
        >
          <option value="">{t("journal.allPriorities")}</option>
          {PRIORITIES.map((p) => (
            <option value={p}>{t(`priority.${p}`)}</option>
          ))}
        </select>
        <input
          type="search"
          class="grow"
          placeholder={t("journal.filter")}
          aria-label={t("journal.filterLabel")}
          data-testid="journal-filter"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button onClick={exportCsv} data-testid="journal-export">
          {t("common.exportCsv")}
        </button>
      </div>
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {status && <p class="muted">{status}</p>}
      <table class="grid" aria-label={t("journal.entries")}>
        <thead>
          <tr>
            <th>{t("journal.col.time")}</th>
            <th>{t("journal.col.tag")}</th>
            <th>{t("journal.col.kind")}</th>
            <th>{t("journal.col.priority")}</th>
            <th>{t("journal.col.state")}</th>
            <th class="n">{t("journal.col.value")}</th>
            <th class="n">{t("journal.col.limit")}</th>
            <th>{t("journal.col.message")}</th>
            <th>{t("journal.col.user")}</th>
            <th>{t("journal.col.comment")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-testid="journal-row" data-state={r.state}>
              <td class="num">{formatDateTime(r.time)}</td>
              <td>{r.tag}</td>
              <td>{alarmKind(r.kind)}</td>
              <td class={`p-${r.priority}`}>{priorityWord(r.priority)}</td>
              <td>{journalState(r.state)}</td>
              <td class="n">{r.value === null ? "" : formatNumber(r.value)}</td>
              <td class="n">{r.limit === null ? "" : formatNumber(r.limit)}</td>
              <td>{alarmMessage(plant, { source: r.tag, kind: r.kind, message: r.message })}</td>
              <td data-testid="journal-user">{r.user ?? ""}</td>
              <td>{r.comment ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted">{t("journal.empty")}</p>}
    </section>
  );
}
