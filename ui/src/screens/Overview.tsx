// The plant at a glance: devices as cards, active alarms by priority, key tags in large numerals.
import type { PlantInfo, TagInfo } from "../bindings/ipc";
import { PRIORITIES } from "../components/AlarmBanner";
import { Sparkline } from "../components/Sparkline";
import { WriteControl } from "../components/WriteControl";
import { useLive, useNow, useServices } from "../context";
import { describeCause, formatAgo, formatFixed, formatValue, qualityBadge, qualityClass } from "../format";
import { useT } from "../i18n";
import { tagName } from "../plant-text";

/** The most key tags the Overview shows. */
export const MAX_KEY_TAGS = 8;

/** The tags shown big: the pinned ones, else the numeric tags that carry alarms, else the first ones. */
export function keyTags(plant: PlantInfo, pinned: string[], max = MAX_KEY_TAGS): TagInfo[] {
  if (pinned.length > 0) {
    const byId = new Map(plant.tags.map((t) => [t.id, t]));
    return pinned.flatMap((id) => byId.get(id) ?? []).slice(0, max);
  }
  const numeric = plant.tags.filter((t) => !t.boolean && t.valueType !== "string");
  const withAlarms = numeric.filter((t) => t.alarms.length > 0);
  const rest = numeric.filter((t) => t.alarms.length === 0);
  return [...withAlarms, ...rest].slice(0, max);
}

/**
 * The pinned tags after pinning or unpinning `id` from the Tags screen. While nothing is pinned the
 * Overview picks its own, and the first pin or unpin starts from those (pinning one tag does not empty
 * the Overview of the others). `null` when the Overview is full and `id` would be one too many.
 */
export function togglePin(plant: PlantInfo, pinned: string[], id: string): string[] | null {
  const shown = keyTags(plant, pinned).map((t) => t.id);
  if (shown.includes(id)) return shown.filter((x) => x !== id);
  return shown.length >= MAX_KEY_TAGS ? null : [...shown, id];
}

export function Overview() {
  const t = useT();
  const store = useLive();
  const { settings, go } = useServices();
  const now = useNow();
  const plant = store.plant;
  if (!plant) return <p class="muted">{t("app.openingPlant")}</p>;
  const keys = keyTags(plant, settings.keyTags);
  store.watch(keys.map((k) => k.index));
  const counts = store.alarms.counts;

  return (
    <section aria-label={t("overview.label")}>
      <div class="toolbar">
        <h2 class="grow">{t("overview.title")}</h2>
        {PRIORITIES.map((p) => (
          <span class={`chip p-${p} ${counts[p] === 0 ? "zero" : ""}`} data-testid={`overview-count-${p}`}>
            {t(`priority.${p}`)} {counts[p]}
          </span>
        ))}
      </div>

      <h3>{t("overview.keyTags")}</h3>
      <div class="key-tags">
        {keys.map((tag) => {
          const u = store.values[tag.index];
          const badge = qualityBadge(u);
          return (
            <div
              class="card"
              data-testid="key-tag"
              data-tag={tag.id}
              tabIndex={0}
              role="button"
              title={t("overview.keyTagHint", { id: tag.id, cause: describeCause(u?.cause ?? null) })}
              onClick={() => go("trends", [tag.index])}
              onKeyDown={(e) => e.key === "Enter" && go("trends", [tag.index])}
            >
              <div class="title">
                <span>{tagName(tag)}</span>
                <span class="muted">{tag.id}</span>
              </div>
              <div class={`big-value ${qualityClass(u?.q)}`} data-testid="key-value">
                {formatValue(u, tag)}
                {tag.unit && <span class="unit">{tag.unit}</span>}
                {badge && <span class="q-badge">{badge}</span>}
              </div>
              <Sparkline ring={store.ring(tag.index)} version={store.version} />
              <WriteControl tag={tag} />
            </div>
          );
        })}
      </div>

      <h3>{t("overview.devices")}</h3>
      <div class="cards">
        {plant.devices.map((d) => {
          const s = store.devices.find((x) => x.index === d.index);
          const state = s?.state ?? "connecting";
          return (
            <div class="card" data-testid="device-card" data-device={d.id}>
              <div class="title">
                <span>{d.name}</span>
                <span class={`state state-${state}`}>{t(`deviceState.${state}`)}</span>
              </div>
              <dl class="facts">
                <dt>{t("overview.link")}</dt>
                <dd>{t("overview.linkUnit", { link: d.link, unit: d.unit })}</dd>
                <dt>{t("overview.lastPoll")}</dt>
                <dd>{formatAgo(s?.lastPoll, now)}</dd>
                <dt>{t("overview.errorRate")}</dt>
                <dd>{s ? `${formatFixed(s.errorRate * 100, 1)} %` : "—"}</dd>
                <dt>{t("overview.latency")}</dt>
                <dd>{s ? t("overview.latencyText", { avg: formatFixed(s.latencyAvgMs, 1), max: formatFixed(s.latencyMaxMs, 1) }) : "—"}</dd>
              </dl>
            </div>
          );
        })}
      </div>
    </section>
  );
}
