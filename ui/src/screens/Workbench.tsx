// The commissioning workbench: choose a link, find the devices on it and their registers, see every
// register in every word order, watch the traffic, and turn registers into tags of the plant file.
import { useState } from "preact/hooks";
import type { Decoded, LinkSpec, NumberType, PlantInfo, TableName, TagImportReport, UiError } from "../bindings/ipc";
import { LinkForm } from "../components/workbench/LinkForm";
import { PromoteForm, type Draft } from "../components/workbench/PromoteForm";
import { RegisterGrid, type GridWindow } from "../components/workbench/RegisterGrid";
import { ScanPanel } from "../components/workbench/ScanPanel";
import { TrafficPanel } from "../components/workbench/TrafficPanel";
import { useLive, useServices } from "../context";
import { useT } from "../i18n";

/** The largest grid window the workbench opens on a range found by a scan (one read). */
const GRID_MAX = 125;

/** The plant file's type word and order for a reading picked in the grid. */
export function draftOf(d: Decoded | { address: number; number: NumberType }, table: TableName): Draft {
  const bits = table === "coil" || table === "discrete";
  if (bits) return { table, address: d.address, valueType: "bool", order: null, reading: null };
  const decoded = "pattern" in d ? d : null;
  return {
    table,
    address: d.address,
    valueType: d.number,
    order: decoded?.wordOrder ?? null,
    reading: decoded?.text ?? null,
  };
}

export function Workbench({ onOpened }: { onOpened: (p: PlantInfo) => void }) {
  const t = useT();
  const store = useLive();
  const { backend, settings, saveSettings } = useServices();
  const plant = store.plant;
  const first = plant?.devices[0];
  const [link, setLink] = useState<LinkSpec>(first?.linkSpec ?? { kind: "tcp", host: "127.0.0.1", port: 502 });
  const [unit, setUnit] = useState(first?.unit ?? 1);
  const [grid, setGrid] = useState<GridWindow>({ table: "holding", address: 0, count: 20 });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [message, setMessage] = useState("");
  const [imported, setImported] = useState<TagImportReport | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [importError, setImportError] = useState<UiError | null>(null);

  const fromDevice = (id: string) => {
    const d = plant?.devices.find((x) => x.id === id);
    if (d) {
      setLink(d.linkSpec);
      setUnit(d.unit);
    }
  };

  const reopenSimulated = async (mystery: boolean) => {
    try {
      // The window's copy first (a later save sends the whole settings), then saved for certain before
      // the plant reopens: the simulated plant reads the setting when it starts.
      saveSettings({ mysteryDevice: mystery });
      await backend.settingsSet({ ...settings, mysteryDevice: mystery });
      onOpened(await backend.openPlant(null));
    } catch (e) {
      setError(e as UiError);
    }
  };

  const exportTags = async () => {
    try {
      setMessage(t("workbench.tagsSaved", { path: await backend.tagsExport(null) }));
    } catch (e) {
      setError(e as UiError);
    }
  };
  const importTags = async () => {
    setImportError(null);
    setImported(null);
    try {
      const report = await backend.tagsImport(null);
      setImported(report);
      if (report.plant) onOpened(report.plant);
    } catch (e) {
      setImportError(e as UiError);
    }
  };

  return (
    <section aria-label={t("workbench.label")} class="workbench">
      <div class="toolbar">
        <h2>{t("workbench.title")}</h2>
        {plant && plant.devices.length > 0 && (
          <select aria-label={t("workbench.fromDevice")} value="" onChange={(e) => fromDevice((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">{t("workbench.fromDevice")}</option>
            {plant.devices.map((d) => (
              <option value={d.id}>{`${d.name} (${d.link} #${d.unit})`}</option>
            ))}
          </select>
        )}
        {plant?.simulated && (
          <label title={t("workbench.mysteryHint")}>
            <input
              type="checkbox"
              checked={settings.mysteryDevice}
              onChange={(e) => reopenSimulated((e.currentTarget as HTMLInputElement).checked)}
              data-testid="wb-mystery"
            />
            {t("workbench.mystery")}
          </label>
        )}
      </div>
      <LinkForm link={link} onChange={setLink} />
      {error && <div class="error-box" role="alert">{error.message}</div>}
      <div class="wb-layout">
        <ScanPanel
          link={link}
          unit={unit}
          onUnit={setUnit}
          onRange={(table, r) => setGrid({ table, address: r.from, count: Math.min(r.to - r.from + 1, GRID_MAX) })}
        />
        <RegisterGrid link={link} unit={unit} window={grid} onWindow={setGrid} onPromote={(d, table) => setDraft(draftOf(d, table))} />
      </div>
      <TrafficPanel />
      <div class="card" data-testid="wb-tag-lists">
        <div class="title">
          <span>{t("workbench.tagLists")}</span>
        </div>
        <p class="muted">{t("workbench.tagListsHint")}</p>
        <div class="toolbar">
          <button onClick={exportTags} disabled={!plant?.source} data-testid="wb-tags-export">
            {t("workbench.exportCsv")}
          </button>
          <button onClick={importTags} disabled={!plant?.source} data-testid="wb-tags-import">
            {t("workbench.importCsv")}
          </button>
          <span class="muted" role="status">
            {message}
          </span>
        </div>
        {imported && imported.file && (
          <p data-testid="wb-import-report">{t("workbench.imported", { added: imported.added, changed: imported.changed })}</p>
        )}
        {importError && (
          <div class="error-box" role="alert" data-testid="wb-import-error">
            {importError.problems.length === 0
              ? importError.message
              : t("workbench.importRefused", { count: importError.problems.length, message: importError.message })}
            <ul>
              {importError.problems.map((p) => (
                <li class="num">{`${p.line}: ${p.message}`}</li>
              ))}
            </ul>
          </div>
        )}
      </div>
      {draft && <PromoteForm draft={draft} link={link} unit={unit} onClose={() => setDraft(null)} onPromoted={onOpened} />}
    </section>
  );
}
