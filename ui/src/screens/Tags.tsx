// Every tag with its live value, unit, quality and last change; search and filter by device.
import { useMemo, useRef, useState } from "preact/hooks";
import type { PlantInfo, TagInfo } from "../bindings/ipc";
import { VirtualList } from "../components/VirtualList";
import { WriteControl } from "../components/WriteControl";
import { useLive, useServices } from "../context";
import { describeCause, formatClock, formatValue, qualityBadge, qualityClass } from "../format";
import { useT } from "../i18n";
import { keyTags, MAX_KEY_TAGS, togglePin } from "./Overview";
import { tagName } from "../plant-text";
import { writableBy } from "../write";

export const ROW_HEIGHT = 40;

/** The tags matching a search text (id, name in either language or unit, case-insensitive) and a
 * device (-1: all). */
export function filterTags(plant: PlantInfo, text: string, device: number): TagInfo[] {
  const needle = text.trim().toLowerCase();
  return plant.tags.filter(
    (t) =>
      (device < 0 || t.device === device) &&
      (needle === "" ||
        t.id.toLowerCase().includes(needle) ||
        t.name.toLowerCase().includes(needle) ||
        (t.nameZh ?? "").toLowerCase().includes(needle) ||
        (t.unit ?? "").toLowerCase().includes(needle)),
  );
}

export function Tags() {
  const t = useT();
  const store = useLive();
  const { go, session, settings, saveSettings } = useServices();
  const [text, setText] = useState("");
  // The tag whose write control is open above the list (its index), or null.
  const [writing, setWriting] = useState<number | null>(null);
  const [device, setDevice] = useState(-1);
  const search = useRef<HTMLInputElement>(null);
  const plant = store.plant;
  const tags = useMemo(() => (plant ? filterTags(plant, text, device) : []), [plant, text, device]);
  if (!plant) return <p class="muted">{t("app.openingPlant")}</p>;
  const target = writing === null ? undefined : plant.tags[writing];
  const pinned = new Set(keyTags(plant, settings.keyTags).map((k) => k.id));
  const targetWrite = target && writableBy(target, session);

  return (
    <section aria-label={t("tags.label")}>
      <div class="toolbar">
        <h2>{t("tags.title")}</h2>
        <input
          ref={search}
          type="search"
          placeholder={t("tags.search")}
          aria-label={t("tags.searchLabel")}
          data-testid="tag-search"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          autoFocus
        />
        <select
          aria-label={t("tags.deviceFilter")}
          data-testid="device-filter"
          value={String(device)}
          onChange={(e) => setDevice(Number((e.currentTarget as HTMLSelectElement).value))}
        >
          <option value="-1">{t("tags.allDevices")}</option>
          {plant.devices.map((d) => (
            <option value={String(d.index)}>{d.name}</option>
          ))}
        </select>
        <span class="muted grow" data-testid="tag-count">
          {t("tags.count", { shown: tags.length, total: plant.tags.length })}
        </span>
      </div>
      {target && targetWrite && (
        <div class="write-panel" data-testid="write-panel" aria-label={t("tags.writeTag", { id: target.id })} role="group">
          <strong>{target.id}</strong>
          <span class="muted">{tagName(target)}</span>
          <span class="value num" data-testid="write-panel-value">
            {formatValue(store.values[target.index], target)}
            {target.unit && <span class="muted"> {target.unit}</span>}
          </span>
          <WriteControl key={target.index} tag={target} />
          <button class="close" onClick={() => setWriting(null)} data-testid="write-close" aria-label={t("tags.closeWrite")}>
            {t("common.close")}
          </button>
        </div>
      )}
      <VirtualList
        count={tags.length}
        rowHeight={ROW_HEIGHT}
        height="calc(100vh - 190px)"
        label={t("tags.list")}
        header={
          <div class="trow head" style={{ height: `${ROW_HEIGHT}px` }} role="row">
            <span>{t("tags.col.tag")}</span>
            <span>{t("tags.col.name")}</span>
            <span style={{ textAlign: "right" }}>{t("tags.col.value")}</span>
            <span>{t("tags.col.unit")}</span>
            <span>{t("tags.col.quality")}</span>
            <span>{t("tags.col.changed")}</span>
            <span>{t("tags.col.write")}</span>
            <span>{t("tags.pinColumn")}</span>
          </div>
        }
        renderRow={(i, top) => {
          const tag = tags[i];
          const u = store.values[tag.index];
          const badge = qualityBadge(u);
          return (
            <div
              class="trow"
              role="row"
              data-testid="tag-row"
              data-tag={tag.id}
              style={{ top: `${top}px`, height: `${ROW_HEIGHT}px` }}
              tabIndex={0}
              onDblClick={() => go("trends", [tag.index])}
              onKeyDown={(e) => e.key === "Enter" && go("trends", [tag.index])}
            >
              <span>{tag.id}</span>
              <span>{tagName(tag)}</span>
              <span class={`value ${qualityClass(u?.q)}`} data-testid="tag-value">
                {formatValue(u, tag)}
              </span>
              <span class="muted">{tag.unit ?? ""}</span>
              <span class={qualityClass(u?.q)} title={describeCause(u?.cause ?? null)} data-testid="tag-quality">
                {badge ?? t("quality.good")}
              </span>
              <span class="num muted">{formatClock(u?.c)}</span>
              <span>
                {writableBy(tag, session) && (
                  <button
                    class="small"
                    data-testid="write-open"
                    aria-label={t("tags.writeTag", { id: tag.id })}
                    onClick={(e) => {
                      e.stopPropagation();
                      setWriting(tag.index);
                    }}
                    onKeyDown={(e) => e.stopPropagation()}
                  >
                    {t("tags.writeOpen")}
                  </button>
                )}
              </span>
              <span>
                <PinButton
                  id={tag.id}
                  on={pinned.has(tag.id)}
                  full={pinned.size >= MAX_KEY_TAGS}
                  onToggle={() => {
                    const next = togglePin(plant, settings.keyTags, tag.id);
                    if (next) saveSettings({ keyTags: next });
                  }}
                />
              </span>
            </div>
          );
        }}
      />
    </section>
  );
}

/** A tag's star on the Tags screen: filled while the tag is a key tag on the Overview. */
function PinButton({ id, on, full, onToggle }: { id: string; on: boolean; full: boolean; onToggle: () => void }) {
  const t = useT();
  const hint = on ? t("tags.unpin", { id }) : full ? t("tags.pinFull", { max: MAX_KEY_TAGS }) : t("tags.pin", { id });
  return (
    <button
      class="small pin"
      aria-pressed={on}
      aria-label={hint}
      title={hint}
      disabled={!on && full}
      data-testid="pin"
      onClick={(e) => {
        e.stopPropagation();
        onToggle();
      }}
      onKeyDown={(e) => e.stopPropagation()}
    >
      {on ? "★" : "☆"}
    </button>
  );
}
