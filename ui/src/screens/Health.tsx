// Alarm health (after EEMUA 191 and ISA-18.2): alarms per 10 minutes, floods, chattering alarms and the
// most frequent alarms, from the journal, for a chosen range.
import { useEffect, useState } from "preact/hooks";
import type { AlarmHealth, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";
import { useT } from "../i18n";
import { priorityWord } from "../i18n/words";
import { DAY, HOUR } from "../trend-range";

export const HEALTH_RANGES = [
  { id: "shift", span: 8 * HOUR },
  { id: "day", span: DAY },
  { id: "week", span: 7 * DAY },
] as const;

export function Health() {
  const t = useT();
  const { backend } = useServices();
  const [range, setRange] = useState("shift");
  const [report, setReport] = useState<AlarmHealth | null>(null);
  const [error, setError] = useState<UiError | null>(null);

  const load = async () => {
    const span = HEALTH_RANGES.find((r) => r.id === range)?.span ?? 8 * HOUR;
    const to = Date.now();
    try {
      setReport(await backend.alarmHealth(to - span, to));
      setError(null);
    } catch (e) {
      setError(e as UiError);
    }
  };

  useEffect(() => {
    load();
    const id = setInterval(load, 10000);
    return () => clearInterval(id);
  }, [range]);

  const periods = report?.per10Minutes.filter((p) => p.alarms > 0) ?? [];
  const most = Math.max(10, ...periods.map((p) => p.alarms));

  return (
    <section aria-label={t("health.label")}>
      <div class="toolbar">
        <h2>{t("health.title")}</h2>
        <select aria-label={t("common.timeRange")} value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {HEALTH_RANGES.map((r) => (
            <option value={r.id}>{t(`health.range.${r.id}`)}</option>
          ))}
        </select>
      </div>
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {report && (
        <>
          <p data-testid="health-summary">
            {t("health.summary", {
              count: report.activations,
              from: formatDateTime(report.from),
              to: formatDateTime(report.to),
              average: formatNumber(Math.round(report.averagePer10Minutes * 100) / 100),
            })}
            {report.busiest && t("health.busiest", { start: formatDateTime(report.busiest.start), alarms: report.busiest.alarms })}
            {t("health.end")}
          </p>

          <h3>{t("health.floods", { count: report.floods.length })}</h3>
          {report.floods.length > 0 && (
            <table class="grid" aria-label={t("health.floodsTable")}>
              <thead>
                <tr>
                  <th>{t("health.col.start")}</th>
                  <th>{t("health.col.end")}</th>
                  <th class="n">{t("health.col.alarms")}</th>
                  <th class="n">{t("health.col.peak")}</th>
                </tr>
              </thead>
              <tbody>
                {report.floods.map((f) => (
                  <tr data-testid="health-flood">
                    <td class="num">{formatDateTime(f.start)}</td>
                    <td class="num">{formatDateTime(f.end)}</td>
                    <td class="n">{f.alarms}</td>
                    <td class="n">{f.peak}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3>{t("health.chattering", { count: report.chattering.length })}</h3>
          {report.chattering.length > 0 && (
            <table class="grid" aria-label={t("health.chatteringTable")}>
              <thead>
                <tr>
                  <th>{t("health.col.alarm")}</th>
                  <th class="n">{t("health.col.mostPerMinute")}</th>
                  <th class="n">{t("health.col.tripsInAll")}</th>
                  <th>{t("health.col.firstChattered")}</th>
                </tr>
              </thead>
              <tbody>
                {report.chattering.map((c) => (
                  <tr data-testid="health-chatter">
                    <td>{c.alarm}</td>
                    <td class="n">{c.mostPerMinute}</td>
                    <td class="n">{c.activations}</td>
                    <td class="num">{formatDateTime(c.first)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3>{t("health.mostFrequent")}</h3>
          {report.mostFrequent.length > 0 ? (
            <table class="grid" aria-label={t("health.mostFrequent")}>
              <thead>
                <tr>
                  <th>{t("health.col.alarm")}</th>
                  <th>{t("health.col.priority")}</th>
                  <th class="n">{t("health.col.trips")}</th>
                </tr>
              </thead>
              <tbody>
                {report.mostFrequent.map((f) => (
                  <tr data-testid="health-frequent">
                    <td>{f.alarm}</td>
                    <td class={`p-${f.priority}`}>{priorityWord(f.priority)}</td>
                    <td class="n">{f.activations}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">{t("health.noAlarms")}</p>
          )}

          <h3>{t("health.per10")}</h3>
          {periods.length > 0 && (
            <table class="grid" aria-label={t("health.per10Table")}>
              <tbody>
                {periods.map((p) => (
                  <tr data-testid="health-period" class={p.alarms >= 10 ? "p-critical" : undefined}>
                    <td class="num">{formatDateTime(p.start)}</td>
                    <td class="n">{p.alarms}</td>
                    <td class="rate-cell">
                      <div class="rate-bar" style={{ width: `${(100 * p.alarms) / most}%` }} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
