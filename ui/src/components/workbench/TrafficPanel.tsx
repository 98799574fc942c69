// The traffic monitor: every request and response on the plant's links and the workbench's, newest
// last, from the Rust side's ring of the last 10,000 frames. Capture is off until turned on here (it
// costs the poll path nothing while off); pause keeps the list still while capture goes on.
import { useEffect, useRef, useState } from "preact/hooks";
import type { FrameView, UiError } from "../../bindings/ipc";
import { useServices } from "../../context";
import { formatClock, formatFixed } from "../../format";
import { useT } from "../../i18n";

/** How often the page asks for new frames while capturing. */
export const TRAFFIC_POLL_MS = 500;
/** The page keeps as many frames as the Rust side's ring. */
export const TRAFFIC_KEPT = 10_000;
const SHOWN = 500;

/** True when a frame matches the filter: words that must all appear in its unit, function, link or bytes. */
export function frameMatches(f: FrameView, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  // `key=value` words name a field and match it exactly (unit=3 is not unit 37); other words are looked
  // for anywhere in the frame's link and bytes.
  const fields = [
    `unit=${f.unit}`,
    `fc=${f.function}`,
    f.address !== null ? `addr=${f.address}` : "",
    f.exception !== null ? `ex=${f.exception}` : "",
    f.request ? "req" : "rsp",
  ];
  const text = `${f.link} ${f.hex}`.toLowerCase();
  return words.every((w) => fields.includes(w) || (!w.includes("=") && text.includes(w)));
}

export function TrafficPanel() {
  const t = useT();
  const { backend } = useServices();
  const [enabled, setEnabled] = useState(false);
  const [paused, setPaused] = useState(false);
  const [frames, setFrames] = useState<FrameView[]>([]);
  const [dropped, setDropped] = useState(0);
  const [filter, setFilter] = useState("");
  const [status, setStatus] = useState("");
  const [error, setError] = useState<UiError | null>(null);
  const since = useRef(0);

  const take = (view: { enabled: boolean; frames: FrameView[]; dropped: number }) => {
    setEnabled(view.enabled);
    setDropped(view.dropped);
    if (view.frames.length > 0) {
      since.current = view.frames[view.frames.length - 1].seq;
      setFrames((old) => {
        const all = old.concat(view.frames);
        return all.length > TRAFFIC_KEPT ? all.slice(all.length - TRAFFIC_KEPT) : all;
      });
    }
  };

  useEffect(() => {
    backend.workbenchTraffic(null, since.current).then(take, (e) => setError(e as UiError));
  }, []);

  useEffect(() => {
    if (!enabled || paused) return;
    const id = setInterval(() => backend.workbenchTraffic(null, since.current).then(take, (e) => setError(e as UiError)), TRAFFIC_POLL_MS);
    return () => clearInterval(id);
  }, [enabled, paused]);

  const toggle = () => backend.workbenchTraffic(!enabled, since.current).then(take, (e) => setError(e as UiError));
  const clear = async () => {
    await backend.workbenchTrafficClear().catch((e) => setError(e as UiError));
    setFrames([]);
  };
  const exportText = async () => {
    try {
      setStatus(t("workbench.trafficSaved", { path: await backend.workbenchTrafficExport(0) }));
    } catch (e) {
      setError(e as UiError);
    }
  };

  const shown = frames.filter((f) => frameMatches(f, filter));
  return (
    <div class="card wb-traffic" data-testid="wb-traffic">
      <div class="title">
        <span>{t("workbench.traffic")}</span>
        <span class="muted">{t("workbench.trafficCount", { count: frames.length, dropped })}</span>
      </div>
      <div class="toolbar">
        <button aria-pressed={enabled} onClick={toggle} data-testid="wb-traffic-toggle">
          {enabled ? t("workbench.captureOff") : t("workbench.captureOn")}
        </button>
        <button aria-pressed={paused} onClick={() => setPaused(!paused)} disabled={!enabled}>
          {paused ? t("workbench.resume") : t("workbench.pause")}
        </button>
        <input
          type="search"
          value={filter}
          placeholder={t("workbench.trafficFilter")}
          aria-label={t("workbench.trafficFilter")}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
          data-testid="wb-traffic-filter"
        />
        <button onClick={clear}>{t("workbench.clear")}</button>
        <button onClick={exportText} disabled={frames.length === 0}>
          {t("workbench.exportText")}
        </button>
        <span class="muted">{status}</span>
      </div>
      {error && <div class="error-box" role="alert">{error.message}</div>}
      <table class="grid-table traffic" data-testid="wb-frames">
        <thead>
          <tr>
            <th>{t("workbench.time")}</th>
            <th>{t("workbench.direction")}</th>
            <th>{t("workbench.unit")}</th>
            <th>{t("workbench.function")}</th>
            <th>{t("workbench.address")}</th>
            <th>{t("workbench.count")}</th>
            <th>{t("workbench.latency")}</th>
            <th>{t("workbench.exception")}</th>
            <th>{t("workbench.bytes")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(Math.max(0, shown.length - SHOWN)).map((f) => (
            <tr class={f.exception !== null || f.crcOk === false ? "bad" : ""} data-testid="wb-frame">
              <td class="num">{formatClock(f.at)}</td>
              <td>{f.request ? t("workbench.request") : t("workbench.response")}</td>
              <td class="num">{f.unit}</td>
              <td class="num">{f.function}</td>
              <td class="num">{f.address ?? ""}</td>
              <td class="num">{f.count ?? ""}</td>
              <td class="num">{f.latencyMs !== null ? formatFixed(f.latencyMs, 1) : ""}</td>
              <td class="num">{f.exception ?? ""}</td>
              <td class="num hex">
                {f.hex}
                {f.crcOk === false && ` ${t("workbench.badCrc")}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
