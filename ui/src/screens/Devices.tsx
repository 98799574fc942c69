// Each device's configuration, state, counters and last errors, and a connection test.
import { useState } from "preact/hooks";
import type { ConnectionTest, UiError } from "../bindings/ipc";
import { ApiCard } from "../components/ApiCard";
import { NorthboundCard } from "../components/NorthboundCard";
import { useLive, useNow, useServices } from "../context";
import { formatAgo, formatClock, formatFixed } from "../format";
import { useT } from "../i18n";

export function Devices() {
  const t = useT();
  const store = useLive();
  const { backend } = useServices();
  const now = useNow();
  const [tests, setTests] = useState<Record<number, ConnectionTest | UiError | "running">>({});
  const plant = store.plant;
  if (!plant) return <p class="muted">{t("app.openingPlant")}</p>;

  const test = async (device: number) => {
    setTests((t) => ({ ...t, [device]: "running" }));
    try {
      const r = await backend.testConnection(device);
      setTests((t) => ({ ...t, [device]: r }));
    } catch (e) {
      setTests((t) => ({ ...t, [device]: e as UiError }));
    }
  };

  return (
    <section aria-label={t("devices.label")}>
      <h2>{t("devices.title")}</h2>
      <div class="cards">
        <NorthboundCard />
        <ApiCard />
        {plant.devices.map((d) => {
          const s = store.devices.find((x) => x.index === d.index);
          const state = s?.state ?? "connecting";
          const result = tests[d.index];
          return (
            <div class="card" data-testid="device-detail" data-device={d.id}>
              <div class="title">
                <span>
                  {d.name} <span class="muted">({d.id})</span>
                </span>
                <span class={`state state-${state}`}>{t(`deviceState.${state}`)}</span>
              </div>
              <dl class="facts">
                <dt>{t("devices.link")}</dt>
                <dd>{d.link}</dd>
                <dt>{t("devices.unit")}</dt>
                <dd>{d.unit}</dd>
                <dt>{t("devices.pollTimeout")}</dt>
                <dd>{t("devices.pollTimeoutText", { poll: d.pollMs, timeout: d.timeoutMs })}</dd>
                <dt>{t("devices.blockGap")}</dt>
                <dd>{t("devices.blockGapText", { block: d.maxBlock, gap: d.maxGap })}</dd>
                <dt>{t("devices.tags")}</dt>
                <dd>{d.tagCount}</dd>
                <dt>{t("devices.lastPoll")}</dt>
                <dd>{formatAgo(s?.lastPoll, now)}</dd>
                <dt>{t("devices.requests")}</dt>
                <dd>{t("devices.requestsText", { sent: s?.requests ?? 0, answered: s?.responses ?? 0 })}</dd>
                <dt>{t("devices.timeouts")}</dt>
                <dd>{s?.timeouts ?? 0}</dd>
                <dt>{t("devices.exceptions")}</dt>
                <dd>
                  {s && s.exceptions.length > 0
                    ? s.exceptions.map((e) => `${e.code.toString(16).padStart(2, "0").toUpperCase()}: ${e.count}`).join(", ")
                    : t("common.none")}
                </dd>
                <dt>{t("devices.linkErrors")}</dt>
                <dd>{s?.linkErrors ?? 0}</dd>
                <dt>{t("devices.reconnects")}</dt>
                <dd>{s?.reconnects ?? 0}</dd>
                <dt>{t("devices.missedCycles")}</dt>
                <dd>{s?.missedCycles ?? 0}</dd>
                <dt>{t("devices.latency")}</dt>
                <dd>
                  {s
                    ? t("devices.latencyText", {
                        last: formatFixed(s.latencyLastMs, 1),
                        avg: formatFixed(s.latencyAvgMs, 1),
                        max: formatFixed(s.latencyMaxMs, 1),
                      })
                    : "—"}
                </dd>
              </dl>
              <h3>{t("devices.lastErrors")}</h3>
              {s && s.lastErrors.length > 0 ? (
                <ul>
                  {[...s.lastErrors].reverse().map((e) => (
                    <li>
                      <span class="num muted">{formatClock(e.at)}</span> {e.message}
                    </li>
                  ))}
                </ul>
              ) : (
                <p class="muted">{t("common.none")}</p>
              )}
              <div class="toolbar">
                <button onClick={() => test(d.index)} disabled={result === "running"} data-testid="test-connection">
                  {t("devices.testConnection")}
                </button>
                <span data-testid="test-result">
                  {result === "running"
                    ? t("devices.testing")
                    : result && "ok" in result
                      ? t(result.ok ? "devices.testOk" : "devices.testFailed", {
                          message: result.message,
                          ms: formatFixed(result.latencyMs, 1),
                        })
                      : result
                        ? t("devices.testError", { message: result.message })
                        : ""}
                </span>
              </div>
            </div>
          );
        })}
      </div>
    </section>
  );
}
