// The live register grid: raw hex, u16 and i16 per register, the pair starting at each register as f32
// in all four orders side by side, and for the selected register every 32- and 64-bit reading in every
// order, with a hint where a reading looks plausible. Modbus Poll shows one order at a time.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Decoded, GridView, LinkSpec, NumberType, TableName, UiError } from "../../bindings/ipc";
import { useServices } from "../../context";
import { formatClock, formatFixed } from "../../format";
import { useT } from "../../i18n";
import { TABLES } from "./ScanPanel";

/** How often the grid reads while live. */
export const GRID_POLL_MS = 1000;
const ORDERS_32 = ["ABCD", "CDAB", "BADC", "DCBA"];

export const hex16 = (raw: number) => raw.toString(16).toUpperCase().padStart(4, "0");
export const i16 = (raw: number) => (raw >= 0x8000 ? raw - 0x10000 : raw);

export interface GridWindow {
  table: TableName;
  address: number;
  count: number;
}

export interface RegisterGridProps {
  link: LinkSpec;
  unit: number;
  window: GridWindow;
  onWindow: (w: GridWindow) => void;
  /** A reading was picked to become a tag. */
  onPromote: (d: Decoded | { address: number; number: NumberType }, table: TableName) => void;
}

export function RegisterGrid({ link, unit, window: w, onWindow, onPromote }: RegisterGridProps) {
  const t = useT();
  const { backend } = useServices();
  const [live, setLive] = useState(false);
  const [view, setView] = useState<GridView | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const busy = useRef(false);
  const bits = w.table === "coil" || w.table === "discrete";

  const read = async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      setView(await backend.workbenchRead({ link, unit, table: w.table, address: w.address, count: w.count, timeoutMs: 1000, selected }));
      setError(null);
    } catch (e) {
      setError(e as UiError);
    } finally {
      busy.current = false;
    }
  };

  useEffect(() => {
    if (!live) return;
    read();
    const id = setInterval(read, GRID_POLL_MS);
    return () => clearInterval(id);
  }, [live, link, unit, w.table, w.address, w.count, selected]);

  // A row picked while the grid is not live: read once more, so the readings of every order are the picked
  // register's (the last read carried the one picked before).
  useEffect(() => {
    if (!live && view !== null && selected !== null) read();
  }, [selected]);

  const num = (key: "address" | "count") => (e: Event) => onWindow({ ...w, [key]: Number((e.currentTarget as HTMLInputElement).value) });
  // Only readings of the picked register: until the read for a new pick is back, none (never another
  // register's under this one's heading, where "Make tag" would add the wrong address).
  const byNumber = (n: NumberType) => (view?.selected ?? []).filter((d) => d.number === n && d.address === selected);

  return (
    <div class="card wb-grid" data-testid="wb-grid">
      <div class="title">
        <span>{t("workbench.grid")}</span>
        <span class="muted">{view ? t("workbench.readAt", { time: formatClock(view.at), ms: formatFixed(view.latencyMs, 1) }) : ""}</span>
      </div>
      <div class="toolbar">
        <select aria-label={t("workbench.table")} value={w.table} onChange={(e) => onWindow({ ...w, table: (e.currentTarget as HTMLSelectElement).value as TableName })} data-testid="wb-grid-table">
          {TABLES.map((x) => (
            <option value={x}>{t(`workbench.tables.${x}`)}</option>
          ))}
        </select>
        <label>
          {t("workbench.address")}
          <input type="number" min={0} max={65535} value={w.address} onInput={num("address")} class="narrow" data-testid="wb-grid-address" />
        </label>
        <label>
          {t("workbench.count")}
          <input type="number" min={1} max={bits ? 2000 : 125} value={w.count} onInput={num("count")} class="narrow" data-testid="wb-grid-count" />
        </label>
        <button aria-pressed={live} onClick={() => setLive(!live)} data-testid="wb-live">
          {live ? t("workbench.stopLive") : t("workbench.startLive")}
        </button>
        <button onClick={read} disabled={live}>
          {t("workbench.readOnce")}
        </button>
      </div>
      {error && <div class="error-box" role="alert">{error.message}</div>}
      {view && (
        <div class="wb-grid-body">
          <table class="grid-table" data-testid="wb-rows">
            <thead>
              <tr>
                <th>{t("workbench.address")}</th>
                <th>{t("workbench.hex")}</th>
                <th>{t("workbench.colU16")}</th>
                <th>{t("workbench.colI16")}</th>
                {!bits && ORDERS_32.map((o) => <th title={t("workbench.f32Hint", { order: o })}>{t("workbench.colF32", { order: o })}</th>)}
              </tr>
            </thead>
            <tbody>
              {view.rows.map((r) => (
                <tr
                  class={r.address === selected ? "chosen" : ""}
                  onClick={() => setSelected(r.address)}
                  data-testid="wb-row"
                  data-address={r.address}
                >
                  <td class="num">{r.address}</td>
                  <td class="num">{hex16(r.raw)}</td>
                  <td class="num">{r.raw}</td>
                  <td class="num">{i16(r.raw)}</td>
                  {!bits &&
                    ORDERS_32.map((o) => {
                      const d = r.f32.find((x) => x.pattern === o);
                      return (
                        <td class={`num ${d?.plausible ? "plausible" : "implausible"}`} data-order={o}>
                          {d?.text ?? ""}
                        </td>
                      );
                    })}
                </tr>
              ))}
            </tbody>
          </table>
          {selected !== null && !bits && (
            <div class="wb-orders" data-testid="wb-orders" aria-label={t("workbench.allOrders", { address: selected })}>
              <h3>{t("workbench.allOrders", { address: selected })}</h3>
              <p class="muted">{t("workbench.plausibleHint")}</p>
              <button class="link" onClick={() => onPromote({ address: selected, number: "u16" }, w.table)} data-testid="wb-promote-u16">
                {t("workbench.promoteAs", { type: "u16" })}
              </button>{" "}
              <button class="link" onClick={() => onPromote({ address: selected, number: "i16" }, w.table)}>
                {t("workbench.promoteAs", { type: "i16" })}
              </button>
              {(["f32", "u32", "i32", "f64", "u64", "i64"] as NumberType[]).map((n) =>
                byNumber(n).length === 0 ? null : (
                  <table class="grid-table orders">
                    <caption>{n}</caption>
                    <tbody>
                      {byNumber(n).map((d) => (
                        <tr class={d.plausible ? "plausible" : "implausible"} data-testid="wb-decoded" data-number={d.number} data-pattern={d.pattern}>
                          <td class="num">{d.pattern}</td>
                          <td class="num value">{d.text}</td>
                          <td>{d.plausible ? t("workbench.plausible") : ""}</td>
                          <td>
                            {d.wordOrder !== null ? (
                              <button class="link" onClick={() => onPromote(d, w.table)} data-testid="wb-promote">
                                {t("workbench.makeTag")}
                              </button>
                            ) : (
                              <span class="muted" title={t("workbench.noConfigOrderHint")}>
                                {t("workbench.noConfigOrder")}
                              </span>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ),
              )}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
