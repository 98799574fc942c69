// Every tag with its live value, unit, quality and last change; search and filter by device.
import { useMemo, useRef, useState } from "preact/hooks";
import type { PlantInfo, TagInfo } from "../bindings/ipc";
import { VirtualList } from "../components/VirtualList";
import { WriteControl } from "../components/WriteControl";
import { useLive, useServices } from "../context";
import { describeCause, formatClock, formatValue, qualityBadge, qualityClass } from "../format";
import { writableBy } from "../write";

export const ROW_HEIGHT = 40;

/** The tags matching a search text (id, name or unit, case-insensitive) and a device (-1: all). */
export function filterTags(plant: PlantInfo, text: string, device: number): TagInfo[] {
  const needle = text.trim().toLowerCase();
  return plant.tags.filter(
    (t) =>
      (device < 0 || t.device === device) &&
      (needle === "" ||
        t.id.toLowerCase().includes(needle) ||
        t.name.toLowerCase().includes(needle) ||
        (t.unit ?? "").toLowerCase().includes(needle)),
  );
}

export function Tags() {
  const store = useLive();
  const { go, session } = useServices();
  const [text, setText] = useState("");
  // The tag whose write control is open above the list (its index), or null.
  const [writing, setWriting] = useState<number | null>(null);
  const [device, setDevice] = useState(-1);
  const search = useRef<HTMLInputElement>(null);
  const plant = store.plant;
  const tags = useMemo(() => (plant ? filterTags(plant, text, device) : []), [plant, text, device]);
  if (!plant) return <p class="muted">Opening the plant…</p>;
  const target = writing === null ? undefined : plant.tags[writing];
  const targetWrite = target && writableBy(target, session);

  return (
    <section aria-label="Tags">
      <div class="toolbar">
        <h2>Tags</h2>
        <input
          ref={search}
          type="search"
          placeholder="Search tags (id, name, unit)"
          aria-label="Search tags"
          data-testid="tag-search"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          autoFocus
        />
        <select
          aria-label="Filter by device"
          data-testid="device-filter"
          value={String(device)}
          onChange={(e) => setDevice(Number((e.currentTarget as HTMLSelectElement).value))}
        >
          <option value="-1">All devices</option>
          {plant.devices.map((d) => (
            <option value={String(d.index)}>{d.name}</option>
          ))}
        </select>
        <span class="muted grow" data-testid="tag-count">
          {tags.length} of {plant.tags.length} tags
        </span>
      </div>
      {target && targetWrite && (
        <div class="write-panel" data-testid="write-panel" aria-label={`Write ${target.id}`} role="group">
          <strong>{target.id}</strong>
          <span class="muted">{target.name}</span>
          <span class="value num" data-testid="write-panel-value">
            {formatValue(store.values[target.index], target)}
            {target.unit && <span class="muted"> {target.unit}</span>}
          </span>
          <WriteControl key={target.index} tag={target} />
          <button class="close" onClick={() => setWriting(null)} data-testid="write-close" aria-label="Close the write control">
            Close
          </button>
        </div>
      )}
      <VirtualList
        count={tags.length}
        rowHeight={ROW_HEIGHT}
        height="calc(100vh - 190px)"
        label="Tags"
        header={
          <div class="trow head" style={{ height: `${ROW_HEIGHT}px` }} role="row">
            <span>Tag</span>
            <span>Name</span>
            <span style={{ textAlign: "right" }}>Value</span>
            <span>Unit</span>
            <span>Quality</span>
            <span>Changed</span>
            <span>Write</span>
          </div>
        }
        renderRow={(i, top) => {
          const t = tags[i];
          const u = store.values[t.index];
          const badge = qualityBadge(u);
          return (
            <div
              class="trow"
              role="row"
              data-testid="tag-row"
              data-tag={t.id}
              style={{ top: `${top}px`, height: `${ROW_HEIGHT}px` }}
              tabIndex={0}
              onDblClick={() => go("trends", [t.index])}
              onKeyDown={(e) => e.key === "Enter" && go("trends", [t.index])}
            >
              <span>{t.id}</span>
              <span>{t.name}</span>
              <span class={`value ${qualityClass(u?.q)}`} data-testid="tag-value">
                {formatValue(u, t)}
              </span>
              <span class="muted">{t.unit ?? ""}</span>
              <span class={qualityClass(u?.q)} title={describeCause(u?.cause ?? null)} data-testid="tag-quality">
                {badge ?? "good"}
              </span>
              <span class="num muted">{formatClock(u?.c)}</span>
              <span>
                {writableBy(t, session) && (
                  <button
                    class="small"
                    data-testid="write-open"
                    aria-label={`Write ${t.id}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setWriting(t.index);
                    }}
                    onKeyDown={(e) => e.stopPropagation()}
                  >
                    Write…
                  </button>
                )}
              </span>
            </div>
          );
        }}
      />
    </section>
  );
}
