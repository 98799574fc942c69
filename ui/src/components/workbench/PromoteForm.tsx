// Promote to tag: the registers picked in the grid, with the type and order chosen from the side-by-side
// view, named and scaled, added to the open plant file. The Rust side edits the file as a document (its
// comments and layout stay), checks the result before it saves, and reloads the running plant.
import { useState } from "preact/hooks";
import type { LinkSpec, PlantInfo, PromoteTarget, TableName, UiError } from "../../bindings/ipc";
import { useLive, useServices } from "../../context";
import { useT } from "../../i18n";

export interface Draft {
  table: TableName;
  address: number;
  /** The plant file's type word: u16, f32, bool, ... */
  valueType: string;
  /** ABCD, CDAB, BADC or DCBA for 32- and 64-bit types. */
  order: string | null;
  /** Shown beside the form: the reading as decoded. */
  reading: string | null;
}

/** The device of the plant on this link and unit, if the plant has one. */
export function deviceOn(plant: PlantInfo | null, link: LinkSpec, unit: number) {
  return plant?.devices.find((d) => d.unit === unit && JSON.stringify(d.linkSpec) === JSON.stringify(link)) ?? null;
}

/** A tag id from a name: lower case words joined by underscores, as plant files spell them. */
export function idFrom(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    // The accents NFKD split off are dropped (Débit is debit), not turned into separators.
    .replace(/\p{M}+/gu, "")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

export interface PromoteFormProps {
  draft: Draft;
  link: LinkSpec;
  unit: number;
  onClose: () => void;
  onPromoted: (p: PlantInfo) => void;
}

export function PromoteForm({ draft, link, unit, onClose, onPromoted }: PromoteFormProps) {
  const t = useT();
  const store = useLive();
  const { backend, session } = useServices();
  const existing = deviceOn(store.plant, link, unit);
  const [device, setDevice] = useState<string>(existing?.id ?? "");
  const [newId, setNewId] = useState(`unit${unit}`);
  const [newName, setNewName] = useState(t("workbench.newDeviceName", { unit }));
  const [name, setName] = useState("");
  const [id, setId] = useState("");
  const [scale, setScale] = useState("");
  const [offset, setOffset] = useState("");
  const [unitText, setUnitText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const mayEdit = session.role === "engineer" || session.role === "admin";
  const fromFile = store.plant?.source != null;

  const number = (text: string) => (text.trim() === "" ? null : Number(text));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const target: PromoteTarget =
      device !== "" ? { kind: "device", device } : { kind: "newDevice", id: newId.trim(), name: newName.trim(), link, unit };
    try {
      const plant = await backend.promoteTag({
        target,
        tag: {
          id: (id || idFrom(name)).trim(),
          name: name.trim() === "" ? null : name.trim(),
          table: draft.table,
          address: draft.address,
          valueType: draft.valueType,
          order: draft.order,
          scale: number(scale),
          offset: number(offset),
          unit: unitText.trim() === "" ? null : unitText.trim(),
        },
      });
      onPromoted(plant);
      onClose();
    } catch (err) {
      setError(err as UiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="modal-back" role="presentation">
      <form class="modal form" role="dialog" aria-label={t("workbench.promoteTitle")} onSubmit={submit} data-testid="wb-promote-form">
        <h3>{t("workbench.promoteTitle")}</h3>
        <p class="num">
          {t("workbench.promoteWhat", { table: t(`workbench.tables.${draft.table}`), address: draft.address, type: draft.valueType })}
          {draft.order && ` ${draft.order}`}
          {draft.reading && ` = ${draft.reading}`}
        </p>
        {!fromFile && <p class="note">{t("workbench.needPlantFile")}</p>}
        {!mayEdit && <p class="note">{t("workbench.needEngineer")}</p>}
        <label>
          {t("workbench.device")}
          <select value={device} onChange={(e) => setDevice((e.currentTarget as HTMLSelectElement).value)} data-testid="wb-promote-device">
            {store.plant?.devices.map((d) => (
              <option value={d.id}>{`${d.name} (${d.id})`}</option>
            ))}
            <option value="">{t("workbench.newDevice")}</option>
          </select>
        </label>
        {device === "" && (
          <>
            <label>
              {t("workbench.newDeviceId")}
              <input value={newId} onInput={(e) => setNewId((e.currentTarget as HTMLInputElement).value)} data-testid="wb-new-device-id" />
            </label>
            <label>
              {t("workbench.newDeviceNameLabel")}
              <input value={newName} onInput={(e) => setNewName((e.currentTarget as HTMLInputElement).value)} />
            </label>
          </>
        )}
        <label>
          {t("workbench.tagName")}
          <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} data-testid="wb-tag-name" required />
        </label>
        <label>
          {t("workbench.tagId")}
          <input value={id} placeholder={idFrom(name)} required={idFrom(name) === ""} onInput={(e) => setId((e.currentTarget as HTMLInputElement).value)} data-testid="wb-tag-id" />
        </label>
        <label>
          {t("workbench.scale")}
          <input value={scale} inputMode="decimal" placeholder="1" onInput={(e) => setScale((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t("workbench.offset")}
          <input value={offset} inputMode="decimal" placeholder="0" onInput={(e) => setOffset((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t("workbench.engUnit")}
          <input value={unitText} onInput={(e) => setUnitText((e.currentTarget as HTMLInputElement).value)} data-testid="wb-tag-unit" />
        </label>
        {error && (
          <div class="error-box" role="alert" data-testid="wb-promote-error">
            {error.message}
            {error.problems.length > 0 && (
              <ul>
                {error.problems.map((p) => (
                  <li class="num">{`${p.line}:${p.col}: ${p.message}`}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="buttons">
          <button type="button" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" disabled={busy || !mayEdit || !fromFile || (id || idFrom(name)).trim() === ""} data-testid="wb-promote-save">
            {t("workbench.addToPlant")}
          </button>
        </div>
      </form>
    </div>
  );
}
