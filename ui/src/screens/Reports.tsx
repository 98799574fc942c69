// Reports (issue 15): a template over a chosen period, previewed as the report's own tables and charts,
// and saved as PDF, Excel, CSV or HTML into the export folder. The numbers, the gaps and the charts are
// the report crate's, the same `plantwatch report` and the scheduled reports write; the page only picks
// a template the backend offers and the period.
import { useEffect, useState } from "preact/hooks";
import type { ReportFileFormat, ReportPreview, ReportRequest, ReportTemplateView, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { useT } from "../i18n";
import { DAY, HOUR } from "../trend-range";

/** The periods offered, each ending now; `custom` takes the two times typed. */
export const REPORT_PERIODS = [
  { id: "8h", span: 8 * HOUR },
  { id: "24h", span: DAY },
  { id: "7d", span: 7 * DAY },
  { id: "custom", span: 0 },
] as const;

export const REPORT_FORMATS: ReportFileFormat[] = ["pdf", "xlsx", "csv", "html"];

/** A `datetime-local` input's value (local time, to the minute) for a time in ms. */
export function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An SVG document as an image source (the chart carries no script; img-src allows data:). */
function svgSource(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function Reports() {
  const t = useT();
  const { backend } = useServices();
  const [templates, setTemplates] = useState<ReportTemplateView[]>([]);
  const [template, setTemplate] = useState("shift");
  const [period, setPeriod] = useState<string>("8h");
  const [from, setFrom] = useState(() => localInput(Date.now() - 8 * HOUR));
  const [to, setTo] = useState(() => localInput(Date.now()));
  const [preview, setPreview] = useState<ReportPreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);

  useEffect(() => {
    backend
      .reportTemplates()
      .then(setTemplates)
      .catch((e) => setError(e as UiError));
  }, []);

  const request = (): ReportRequest | null => {
    if (period === "custom") {
      const start = new Date(from).getTime();
      const end = new Date(to).getTime();
      if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
        setError({ code: "badRequest", message: t("reports.badPeriod"), problems: [] });
        return null;
      }
      return { template, from: start, to: end };
    }
    const span = REPORT_PERIODS.find((p) => p.id === period)?.span ?? 8 * HOUR;
    const end = Date.now();
    return { template, from: end - span, to: end };
  };

  const run = async () => {
    const r = request();
    if (!r) return;
    setBusy(true);
    setStatus(null);
    try {
      setPreview(await backend.previewReport(r));
      setError(null);
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };

  const save = async (format: ReportFileFormat) => {
    const r = request();
    if (!r) return;
    setBusy(true);
    try {
      const path = await backend.saveReport(r, format);
      setStatus(t("reports.saved", { format: format.toUpperCase(), path }));
      setError(null);
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label={t("reports.label")}>
      <div class="toolbar">
        <h2>{t("reports.title")}</h2>
        <select aria-label={t("reports.template")} value={template} onChange={(e) => setTemplate((e.currentTarget as HTMLSelectElement).value)}>
          {templates.map((tpl) => (
            <option value={tpl.id}>{!tpl.builtin ? tpl.label : tpl.label === "daily" ? t("reports.builtin.daily") : t("reports.builtin.shift")}</option>
          ))}
        </select>
        <select aria-label={t("reports.period")} value={period} onChange={(e) => setPeriod((e.currentTarget as HTMLSelectElement).value)}>
          {REPORT_PERIODS.map((p) => (
            <option value={p.id}>{t(`reports.periods.${p.id}`)}</option>
          ))}
        </select>
        {period === "custom" && (
          <>
            <input type="datetime-local" aria-label={t("reports.from")} value={from} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
            <input type="datetime-local" aria-label={t("reports.to")} value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
          </>
        )}
        <button type="button" data-testid="report-preview" disabled={busy} onClick={run}>
          {t("reports.preview")}
        </button>
        {REPORT_FORMATS.map((f) => (
          <button type="button" data-testid={`report-save-${f}`} disabled={busy} title={t(`reports.saveAs.${f}`)} onClick={() => save(f)}>
            {f.toUpperCase()}
          </button>
        ))}
      </div>
      {busy && <p class="muted">{t("reports.making")}</p>}
      {status && (
        <p class="muted" role="status" data-testid="report-status">
          {status}
        </p>
      )}
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {!preview && !busy && <p class="muted">{t("reports.hint")}</p>}
      {preview && (
        <article class="report-preview" data-testid="report-preview-body">
          <h3>{preview.title}</h3>
          {preview.heading.map((line) => (
            <p class="muted">{line}</p>
          ))}
          {preview.charts.map((c) => (
            <figure>
              <img src={svgSource(c.svg)} alt={t("reports.chart", { title: c.title })} data-testid="report-chart" />
            </figure>
          ))}
          {preview.tables.map((table) => (
            <>
              <h3>{table.title}</h3>
              <table class="grid" aria-label={table.title} data-testid="report-table">
                <thead>
                  <tr>
                    {table.header.map((h) => (
                      <th>{h}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {table.rows.map((row) => (
                    <tr>
                      {row.map((cell) => (
                        <td>{cell}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
              {table.notes.map((n) => (
                <p class="muted">{n}</p>
              ))}
            </>
          ))}
        </article>
      )}
    </section>
  );
}
