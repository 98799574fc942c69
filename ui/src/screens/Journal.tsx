// The alarm journal: every transition and operator action, filtered, exportable as CSV.
import { useEffect, useState } from "preact/hooks";
import type { JournalQuery, JournalRow, PriorityName, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";
import { DAY, HOUR } from "../trend-range";

const RANGES = [
  { id: "1h", label: "Last hour", span: HOUR },
  { id: "24h", label: "Last 24 h", span: DAY },
  { id: "7d", label: "Last 7 days", span: 7 * DAY },
  { id: "all", label: "All", span: 0 },
];

export function Journal() {
  const { backend } = useServices();
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
      setStatus(`Saved CSV to ${await backend.exportJournal(query())}`);
    } catch (e) {
      setError(e as UiError);
    }
  };

  return (
    <section aria-label="Alarm journal">
      <div class="toolbar">
        <h2>Journal</h2>
        <select aria-label="Time range" value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {RANGES.map((r) => (
            <option value={r.id}>{r.label}</option>
          ))}
        </select>
        <select
          aria-label="Priority"
          value={priority}
          onChange={(e) => setPriority((e.currentTarget as HTMLSelectElement).value as PriorityName | "")}
        >
          <option value="">All priorities</option>
          <option value="critical">critical</option>
          <option value="high">high</option>
          <option value="medium">medium</option>
          <option value="low">low</option>
        </select>
        <input
          type="search"
          class="grow"
          placeholder="Filter by tag or message"
          aria-label="Filter the journal"
          data-testid="journal-filter"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button onClick={exportCsv} data-testid="journal-export">
          Export CSV
        </button>
      </div>
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {status && <p class="muted">{status}</p>}
      <table class="grid" aria-label="Journal entries">
        <thead>
          <tr>
            <th>Time</th>
            <th>Tag</th>
            <th>Kind</th>
            <th>Priority</th>
            <th>State</th>
            <th class="n">Value</th>
            <th class="n">Limit</th>
            <th>Message</th>
            <th>User</th>
            <th>Comment</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-testid="journal-row" data-state={r.state}>
              <td class="num">{formatDateTime(r.time)}</td>
              <td>{r.tag}</td>
              <td>{r.kind}</td>
              <td class={`p-${r.priority}`}>{r.priority}</td>
              <td>{r.state}</td>
              <td class="n">{r.value === null ? "" : formatNumber(r.value)}</td>
              <td class="n">{r.limit === null ? "" : formatNumber(r.limit)}</td>
              <td>{r.message}</td>
              <td data-testid="journal-user">{r.user ?? ""}</td>
              <td>{r.comment ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted">No journal entries in this range.</p>}
    </section>
  );
}
