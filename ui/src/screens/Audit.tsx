// The audit trail, for engineers and admins: every write attempt, sign-in and sign-out, user change and
// alarm action, filtered, exportable as CSV (the columns of `plantwatch audit`).
import { useEffect, useState } from "preact/hooks";
import type { AuditQuery, AuditRow, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime } from "../format";
import { DAY, HOUR } from "../trend-range";

const RANGES = [
  { id: "1h", label: "Last hour", span: HOUR },
  { id: "24h", label: "Last 24 h", span: DAY },
  { id: "7d", label: "Last 7 days", span: 7 * DAY },
  { id: "all", label: "All", span: 0 },
];

/** The query of the screen's filters (empty fields filter nothing). */
export function auditQuery(range: string, user: string, action: string, text: string, now: number): AuditQuery {
  const span = RANGES.find((r) => r.id === range)?.span ?? 0;
  const blank = (s: string) => (s.trim() === "" ? null : s.trim());
  return { from: span > 0 ? now - span : null, to: null, user: blank(user), action: blank(action), text: blank(text), limit: 2000 };
}

export function Audit() {
  const { backend, session } = useServices();
  const [range, setRange] = useState("24h");
  const [user, setUser] = useState("");
  const [action, setAction] = useState("");
  const [text, setText] = useState("");
  const [rows, setRows] = useState<AuditRow[]>([]);
  // The trail's own list of actions, for the filter.
  const [actions, setActions] = useState<string[]>([]);
  const [error, setError] = useState<UiError | null>(null);
  const [status, setStatus] = useState("");
  const query = () => auditQuery(range, user, action, text, Date.now());

  const load = async () => {
    try {
      const found = await backend.auditEntries(query());
      setRows(found.entries);
      setActions(found.actions);
      setError(null);
    } catch (e) {
      setError(e as UiError);
    }
  };

  useEffect(() => {
    load();
    const id = setInterval(load, 3000);
    return () => clearInterval(id);
  }, [range, user, action, text, session.user, session.role]);

  const exportCsv = async () => {
    try {
      setStatus(`Saved CSV to ${await backend.auditExport(query())}`);
    } catch (e) {
      setError(e as UiError);
    }
  };

  return (
    <section aria-label="Audit trail">
      <div class="toolbar">
        <h2>Audit</h2>
        <select aria-label="Time range" value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {RANGES.map((r) => (
            <option value={r.id}>{r.label}</option>
          ))}
        </select>
        <input
          placeholder="User"
          aria-label="Only this user"
          data-testid="audit-user"
          value={user}
          onInput={(e) => setUser((e.currentTarget as HTMLInputElement).value)}
        />
        <select
          aria-label="Action"
          data-testid="audit-action"
          value={action}
          onChange={(e) => setAction((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">All actions</option>
          {actions.map((a) => (
            <option value={a}>{a}</option>
          ))}
        </select>
        <input
          type="search"
          class="grow"
          placeholder="Filter by target, result or comment"
          aria-label="Filter the audit trail"
          data-testid="audit-filter"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button onClick={exportCsv} data-testid="audit-export">
          Export CSV
        </button>
      </div>
      {error && (
        <div class="error-box" role="alert" data-testid="audit-error">
          {error.message}
        </div>
      )}
      {status && (
        <p class="muted" data-testid="audit-status">
          {status}
        </p>
      )}
      <table class="grid" aria-label="Audit entries">
        <thead>
          <tr>
            <th>Time</th>
            <th>User</th>
            <th>Role</th>
            <th>Action</th>
            <th>Target</th>
            <th class="n">Old</th>
            <th class="n">Requested</th>
            <th class="n">Read back</th>
            <th>Result</th>
            <th>Comment</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-testid="audit-row" data-action={r.action} data-target={r.target}>
              <td class="num">{formatDateTime(r.time)}</td>
              <td>{r.user}</td>
              <td>{r.role}</td>
              <td>{r.action}</td>
              <td>{r.target}</td>
              <td class="n">{r.old ?? ""}</td>
              <td class="n">{r.requested ?? ""}</td>
              <td class="n">{r.readback ?? ""}</td>
              <td data-testid="audit-result">{r.result}</td>
              <td>{r.comment ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !error && <p class="muted">No audit entries in this range.</p>}
    </section>
  );
}
