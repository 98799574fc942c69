// Alarm health (after EEMUA 191 and ISA-18.2): alarms per 10 minutes, floods, chattering alarms and the
// most frequent alarms, from the journal, for a chosen range.
import { useEffect, useState } from "preact/hooks";
import type { AlarmHealth, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";
import { DAY, HOUR } from "../trend-range";

export const HEALTH_RANGES = [
  { id: "shift", label: "Last shift (8 h)", span: 8 * HOUR },
  { id: "day", label: "Last day", span: DAY },
  { id: "week", label: "Last 7 days", span: 7 * DAY },
];

export function Health() {
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
    <section aria-label="Alarm health">
      <div class="toolbar">
        <h2>Alarm health</h2>
        <select aria-label="Time range" value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value)}>
          {HEALTH_RANGES.map((r) => (
            <option value={r.id}>{r.label}</option>
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
            {report.activations} alarms from {formatDateTime(report.from)} to {formatDateTime(report.to)},{" "}
            {formatNumber(Math.round(report.averagePer10Minutes * 100) / 100)} per 10 minutes on average (about 1 is
            the target in steady operation)
            {report.busiest && (
              <>
                ; busiest 10 minutes: {formatDateTime(report.busiest.start)} with {report.busiest.alarms}
              </>
            )}
            .
          </p>

          <h3>Floods (10 or more alarms in 10 minutes): {report.floods.length}</h3>
          {report.floods.length > 0 && (
            <table class="grid" aria-label="Floods">
              <thead>
                <tr>
                  <th>Start</th>
                  <th>End</th>
                  <th class="n">Alarms</th>
                  <th class="n">Most in 10 minutes</th>
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

          <h3>Chattering alarms (3 or more trips in a minute): {report.chattering.length}</h3>
          {report.chattering.length > 0 && (
            <table class="grid" aria-label="Chattering alarms">
              <thead>
                <tr>
                  <th>Alarm</th>
                  <th class="n">Most trips in a minute</th>
                  <th class="n">Trips in all</th>
                  <th>First chattered</th>
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

          <h3>Most frequent alarms</h3>
          {report.mostFrequent.length > 0 ? (
            <table class="grid" aria-label="Most frequent alarms">
              <thead>
                <tr>
                  <th>Alarm</th>
                  <th>Priority</th>
                  <th class="n">Trips</th>
                </tr>
              </thead>
              <tbody>
                {report.mostFrequent.map((f) => (
                  <tr data-testid="health-frequent">
                    <td>{f.alarm}</td>
                    <td class={`p-${f.priority}`}>{f.priority}</td>
                    <td class="n">{f.activations}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">No alarms in this range.</p>
          )}

          <h3>Alarms per 10 minutes (periods without alarms left out)</h3>
          {periods.length > 0 && (
            <table class="grid" aria-label="Alarms per 10 minutes">
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
