// Each device's configuration, state, counters and last errors, and a connection test.
import { useState } from "preact/hooks";
import type { ConnectionTest, UiError } from "../bindings/ipc";
import { NorthboundCard } from "../components/NorthboundCard";
import { useLive, useNow, useServices } from "../context";
import { formatAgo, formatClock } from "../format";

export function Devices() {
  const store = useLive();
  const { backend } = useServices();
  const now = useNow();
  const [tests, setTests] = useState<Record<number, ConnectionTest | UiError | "running">>({});
  const plant = store.plant;
  if (!plant) return <p class="muted">Opening the plant…</p>;

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
    <section aria-label="Devices">
      <h2>Devices</h2>
      <div class="cards">
        <NorthboundCard />
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
                <span class={`state state-${state}`}>{state}</span>
              </div>
              <dl class="facts">
                <dt>Link</dt>
                <dd>{d.link}</dd>
                <dt>Unit id</dt>
                <dd>{d.unit}</dd>
                <dt>Poll / timeout</dt>
                <dd>
                  {d.pollMs} ms / {d.timeoutMs} ms
                </dd>
                <dt>Block / gap</dt>
                <dd>
                  {d.maxBlock} / {d.maxGap} registers
                </dd>
                <dt>Tags</dt>
                <dd>{d.tagCount}</dd>
                <dt>Last poll</dt>
                <dd>{formatAgo(s?.lastPoll, now)}</dd>
                <dt>Requests</dt>
                <dd>
                  {s?.requests ?? 0} sent, {s?.responses ?? 0} answered
                </dd>
                <dt>Timeouts</dt>
                <dd>{s?.timeouts ?? 0}</dd>
                <dt>Exceptions</dt>
                <dd>
                  {s && s.exceptions.length > 0
                    ? s.exceptions.map((e) => `${e.code.toString(16).padStart(2, "0").toUpperCase()}: ${e.count}`).join(", ")
                    : "none"}
                </dd>
                <dt>Link errors</dt>
                <dd>{s?.linkErrors ?? 0}</dd>
                <dt>Reconnects</dt>
                <dd>{s?.reconnects ?? 0}</dd>
                <dt>Missed cycles</dt>
                <dd>{s?.missedCycles ?? 0}</dd>
                <dt>Latency</dt>
                <dd>
                  {s
                    ? `${s.latencyLastMs.toFixed(1)} last, ${s.latencyAvgMs.toFixed(1)} avg, ${s.latencyMaxMs.toFixed(1)} max ms`
                    : "—"}
                </dd>
              </dl>
              <h3>Last errors</h3>
              {s && s.lastErrors.length > 0 ? (
                <ul>
                  {[...s.lastErrors].reverse().map((e) => (
                    <li>
                      <span class="num muted">{formatClock(e.at)}</span> {e.message}
                    </li>
                  ))}
                </ul>
              ) : (
                <p class="muted">none</p>
              )}
              <div class="toolbar">
                <button onClick={() => test(d.index)} disabled={result === "running"} data-testid="test-connection">
                  Test connection
                </button>
                <span data-testid="test-result">
                  {result === "running"
                    ? "testing…"
                    : result && "ok" in result
                      ? `${result.ok ? "OK" : "FAILED"}: ${result.message} (${result.latencyMs.toFixed(1)} ms)`
                      : result
                        ? `Error: ${result.message}`
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
