// The scanner: which unit ids answer on a link, which addresses of a unit's table are readable, what
// the device says it is (FC 43/14), and on a serial port which settings get answers. One scan at a time,
// with progress, cancellable.
import { useState } from "preact/hooks";
import type { AddressRange, IdentityObject, LinkSpec, ScanEvent, TableName, UiError } from "../../bindings/ipc";
import { useServices } from "../../context";
import { formatFixed } from "../../format";
import { useT } from "../../i18n";

export const TABLES: TableName[] = ["holding", "input", "coil", "discrete"];

type Found = { unit: number; answer: string; exception: number | null };
type Setting = { setting: string };

export interface ScanPanelProps {
  link: LinkSpec;
  unit: number;
  onUnit: (unit: number) => void;
  /** A readable range was chosen: show it in the grid. */
  onRange: (table: TableName, range: AddressRange) => void;
}

export function ScanPanel({ link, unit, onUnit, onRange }: ScanPanelProps) {
  const t = useT();
  const { backend } = useServices();
  const [first, setFirst] = useState(1);
  const [last, setLast] = useState(247);
  const [timeoutMs, setTimeoutMs] = useState(200);
  const [paceMs, setPaceMs] = useState(0);
  const [table, setTable] = useState<TableName>("holding");
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(9999);
  const [running, setRunning] = useState<"units" | "ranges" | "serial" | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [found, setFound] = useState<Found[]>([]);
  const [ranges, setRanges] = useState<AddressRange[] | null>(null);
  const [settings, setSettings] = useState<Setting[]>([]);
  const [identity, setIdentity] = useState<IdentityObject[] | null>(null);
  const [outcome, setOutcome] = useState("");
  const [error, setError] = useState<UiError | null>(null);

  /** Runs one scan: the events fill the lists as they come; the last says how it ended. */
  const run = async (what: "units" | "ranges" | "serial", start: (on: (e: ScanEvent) => void) => Promise<void>) => {
    setRunning(what);
    setProgress(null);
    setOutcome("");
    setError(null);
    const ended = new Promise<void>((resolve) => {
      start((e) => {
        switch (e.kind) {
          case "progress":
            setProgress({ done: e.done, total: e.total });
            break;
          case "unit":
            setFound((f) => [...f, { unit: e.unit, answer: e.answer, exception: e.exception }]);
            break;
          case "ranges":
            setRanges(e.ranges);
            break;
          case "setting":
            setSettings((s) => [...s, { setting: e.setting }]);
            break;
          case "done":
            setOutcome(t("workbench.scanDone", { found: e.found, seconds: formatFixed(e.elapsedMs / 1000, 1) }));
            resolve();
            break;
          case "failed":
            setOutcome(t("workbench.scanFailed", { message: e.message }));
            resolve();
            break;
          case "cancelled":
            setOutcome(t("workbench.scanCancelled"));
            resolve();
            break;
        }
      }).catch((err) => {
        setError(err as UiError);
        resolve();
      });
    });
    await ended;
    setRunning(null);
  };

  const scanUnits = () => {
    setFound([]);
    return run("units", (on) => backend.workbenchScanUnits({ link, first, last, timeoutMs, paceMs }, on));
  };
  const scanRanges = () => {
    setRanges(null);
    return run("ranges", (on) => backend.workbenchScanRanges({ link, unit, table, from, to, timeoutMs }, on));
  };
  const probeSerial = () => {
    if (link.kind !== "rtu") return;
    setSettings([]);
    return run("serial", (on) => backend.workbenchProbeSerial({ path: link.path, unit, timeoutMs }, on));
  };
  const identify = async () => {
    setError(null);
    try {
      setIdentity(await backend.workbenchIdentify(link, unit, Math.max(timeoutMs, 500)));
    } catch (e) {
      setIdentity(null);
      setError(e as UiError);
    }
  };
  const num = (set: (n: number) => void) => (e: Event) => set(Number((e.currentTarget as HTMLInputElement).value));

  return (
    <div class="card wb-scan" data-testid="wb-scan">
      <div class="title">
        <span>{t("workbench.scanner")}</span>
      </div>
      <div class="toolbar">
        <label>
          {t("workbench.units")}
          <input type="number" min={1} max={247} value={first} onInput={num(setFirst)} class="narrow" aria-label={t("workbench.firstUnit")} data-testid="wb-first" />
          –
          <input type="number" min={1} max={247} value={last} onInput={num(setLast)} class="narrow" aria-label={t("workbench.lastUnit")} data-testid="wb-last" />
        </label>
        <label>
          {t("workbench.timeoutMs")}
          <input type="number" min={10} max={10000} value={timeoutMs} onInput={num(setTimeoutMs)} class="narrow" />
        </label>
        <label>
          {t("workbench.paceMs")}
          <input type="number" min={0} max={10000} value={paceMs} onInput={num(setPaceMs)} class="narrow" />
        </label>
        <button onClick={scanUnits} disabled={running !== null} data-testid="wb-scan-units">
          {t("workbench.scanUnits")}
        </button>
        {link.kind === "rtu" && (
          <button onClick={probeSerial} disabled={running !== null} title={t("workbench.probeHint")}>
            {t("workbench.probeSerial")}
          </button>
        )}
        {running && (
          <button onClick={() => backend.workbenchCancel()} data-testid="wb-cancel">
            {t("common.cancel")}
          </button>
        )}
      </div>
      {running && progress && (
        <progress max={progress.total} value={progress.done} aria-label={t("workbench.progress")} data-testid="wb-progress" />
      )}
      <p class="muted" role="status" data-testid="wb-scan-outcome">
        {running ? t("workbench.scanning", { done: progress?.done ?? 0, total: progress?.total ?? 0 }) : outcome}
      </p>
      {error && <div class="error-box" role="alert">{error.message}</div>}
      {found.length > 0 && (
        <ul class="wb-found" aria-label={t("workbench.unitsFound")} data-testid="wb-units">
          {found.map((f) => (
            <li>
              <button
                class={f.unit === unit ? "chosen" : ""}
                onClick={() => onUnit(f.unit)}
                data-testid="wb-unit"
                data-unit={f.unit}
              >
                {t("workbench.unitN", { unit: f.unit })}
              </button>{" "}
              <span class="num">{f.answer}</span>
            </li>
          ))}
        </ul>
      )}
      {settings.length > 0 && (
        <ul aria-label={t("workbench.settingsFound")}>
          {settings.map((s) => (
            <li class="num">{s.setting}</li>
          ))}
        </ul>
      )}
      <div class="toolbar">
        <label>
          {t("workbench.unit")}
          <input type="number" min={0} max={247} value={unit} onInput={num(onUnit)} class="narrow" data-testid="wb-unit-input" />
        </label>
        <select aria-label={t("workbench.table")} value={table} onChange={(e) => setTable((e.currentTarget as HTMLSelectElement).value as TableName)}>
          {TABLES.map((x) => (
            <option value={x}>{t(`workbench.tables.${x}`)}</option>
          ))}
        </select>
        <label>
          {t("workbench.addresses")}
          <input type="number" min={0} max={65535} value={from} onInput={num(setFrom)} class="narrow" aria-label={t("workbench.from")} />
          –
          <input type="number" min={0} max={65535} value={to} onInput={num(setTo)} class="narrow" aria-label={t("workbench.to")} />
        </label>
        <button onClick={scanRanges} disabled={running !== null} data-testid="wb-scan-ranges">
          {t("workbench.scanRanges")}
        </button>
        <button onClick={identify} disabled={running !== null} data-testid="wb-identify">
          {t("workbench.identify")}
        </button>
      </div>
      {ranges && (
        <p data-testid="wb-ranges">
          {ranges.length === 0
            ? t("workbench.noRanges")
            : ranges.map((r) => (
                <button class="link" onClick={() => onRange(table, r)} data-testid="wb-range" data-from={r.from} data-to={r.to}>
                  {`${t(`workbench.tables.${table}`)} ${r.from}–${r.to}`}
                </button>
              ))}
        </p>
      )}
      {identity && (
        <dl class="facts" data-testid="wb-identity">
          {identity.length === 0 && <dd class="muted">{t("workbench.noIdentity")}</dd>}
          {identity.map((o) => (
            <>
              <dt>{o.name}</dt>
              <dd>{o.value}</dd>
            </>
          ))}
        </dl>
      )}
    </div>
  );
}
