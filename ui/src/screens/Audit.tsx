// The audit trail, for engineers and admins: every write attempt, sign-in and sign-out, user change and
// alarm action, filtered, exportable as CSV (the columns of `plantwatch audit`).
import { useEffect, useState } from "preact/hooks";
import type { AuditQuery, AuditRow, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime } from "../format";
import { i18n, useT } from "../i18n";
import { DAY, HOUR } from "../trend-range";

const RANGES = [
  { id: "1h", label: "common.lastHour", span: HOUR },
  { id: "24h", label: "common.last24h", span: DAY },
  { id: "7d", label: "common.last7d", span: 7 * DAY },
  { id: "all", label: "common.all", span: 0 },
] as const;

/** The query of the screen's filters (empty fields filter nothing). */
/** An audit code (`sign_in`, `wrong_password`, ...) in the window's language; a code this window does
 * not know (from a newer Plantwatch) is shown as it is. The CSV export keeps the codes. */
export function auditWord(t: ReturnType<typeof useT>, kind: "actions" | "results", code: string): string {
  const key = `audit.${kind}.${code}`;
  return i18n.exists(key) ? String(t(key as never)) : code;
}

export function auditQuery(range: string, user: string, action: string, text: string, now: number): AuditQuery {
  const span = RANGES.find((r) => r.id === range)?.span ?? 0;
  const blank = (s: string) => (s.trim() === "" ? null : s.trim());
  return { from: span > 0 ? now - span : null, to: null, user: blank(user), action: blank(action), text: blank(text), limit: 2000 };
}

export function Audit() {
  const t = useT();
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
      setStatus(t("common.savedCsv", { path: await backend.auditExport(query()) }));
    } catch (e) {
      setError(e as UiError);
    }
  };

  return (
    <section aria-label={t("audit.label")}>
      <div class="toolbar">
        <h2>{t("audit.title")}</h2>
        <select aria-label={t("common.timeRange")} value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {RANGES.map((r) => (
            <option value={r.id}>{t(r.label)}</option>
          ))}
        </select>
        <input
          placeholder={t("audit.user")}
          aria-label={t("audit.userLabel")}
          data-testid="audit-user"
          value={user}
          onInput={(e) => setUser((e.currentTarget as HTMLInputElement).value)}
        />
        <select
          aria-label={t("audit.action")}
          data-testid="audit-action"
          value={action}
          onChange={(e) => setAction((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">{t("audit.allActions")}</option>
          {actions.map((a) => (
            <option value={a}>{auditWord(t, "actions", a)}</option>
          ))}
        </select>
        <input
          type="search"
          class="grow"
          placeholder={t("audit.filter")}
          aria-label={t("audit.filterLabel")}
          data-testid="audit-filter"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button onClick={exportCsv} data-testid="audit-export">
          {t("common.exportCsv")}
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
      <table class="grid" aria-label={t("audit.entries")}>
        <thead>
          <tr>
            <th>{t("audit.col.time")}</th>
            <th>{t("audit.col.user")}</th>
            <th>{t("audit.col.role")}</th>
            <th>{t("audit.col.action")}</th>
            <th>{t("audit.col.target")}</th>
            <th class="n">{t("audit.col.old")}</th>
            <th class="n">{t("audit.col.requested")}</th>
            <th class="n">{t("audit.col.readback")}</th>
            <th>{t("audit.col.result")}</th>
            <th>{t("audit.col.comment")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-testid="audit-row" data-action={r.action} data-target={r.target}>
              <td class="num">{formatDateTime(r.time)}</td>
              <td>{r.user}</td>
              <td>{r.role}</td>
              <td>{auditWord(t, "actions", r.action)}</td>
              <td>{r.target}</td>
              <td class="n">{r.old ?? ""}</td>
              <td class="n">{r.requested ?? ""}</td>
              <td class="n">{r.readback ?? ""}</td>
              <td data-testid="audit-result" data-result={r.result}>
                {auditWord(t, "results", r.result)}
              </td>
              <td>{r.comment ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !error && <p class="muted">{t("audit.empty")}</p>}
    </section>
  );
}
