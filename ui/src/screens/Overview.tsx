// The plant at a glance: devices as cards, active alarms by priority, key tags in large numerals.
import type { PlantInfo, TagInfo } from "../bindings/ipc";
import { PRIORITIES } from "../components/AlarmBanner";
import { Sparkline } from "../components/Sparkline";
import { WriteControl } from "../components/WriteControl";
import { useLive, useNow, useServices } from "../context";
import { describeCause, formatAgo, formatValue, qualityBadge, qualityClass } from "../format";

/** The tags shown big: the pinned ones, else the numeric tags that carry alarms, else the first ones. */
export function keyTags(plant: PlantInfo, pinned: string[], max = 8): TagInfo[] {
  if (pinned.length > 0) {
    const byId = new Map(plant.tags.map((t) => [t.id, t]));
    return pinned.flatMap((id) => byId.get(id) ?? []).slice(0, max);
  }
  const numeric = plant.tags.filter((t) => !t.boolean && t.valueType !== "string");
  const withAlarms = numeric.filter((t) => t.alarms.length > 0);
  const rest = numeric.filter((t) => t.alarms.length === 0);
  return [...withAlarms, ...rest].slice(0, max);
}

export function Overview() {
  const store = useLive();
  const { settings, go } = useServices();
  const now = useNow();
  const plant = store.plant;
  if (!plant) return <p class="muted">Opening the plant…</p>;
  const keys = keyTags(plant, settings.keyTags);
  store.watch(keys.map((t) => t.index));
  const counts = store.alarms.counts;

  return (
    <section aria-label="Overview">
      <div class="toolbar">
        <h2 class="grow">Overview</h2>
        {PRIORITIES.map((p) => (
          <span class={`chip p-${p} ${counts[p] === 0 ? "zero" : ""}`} data-testid={`overview-count-${p}`}>
            {p} {counts[p]}
          </span>
        ))}
      </div>

      <h3>Key tags</h3>
      <div class="key-tags">
        {keys.map((t) => {
          const u = store.values[t.index];
          const badge = qualityBadge(u);
          return (
            <div
              class="card"
              data-testid="key-tag"
              data-tag={t.id}
              tabIndex={0}
              role="button"
              title={`${t.id} — ${describeCause(u?.cause ?? null)}. Enter opens its trend.`}
              onClick={() => go("trends", [t.index])}
              onKeyDown={(e) => e.key === "Enter" && go("trends", [t.index])}
            >
              <div class="title">
                <span>{t.name}</span>
                <span class="muted">{t.id}</span>
              </div>
              <div class={`big-value ${qualityClass(u?.q)}`} data-testid="key-value">
                {formatValue(u, t)}
                {t.unit && <span class="unit">{t.unit}</span>}
                {badge && <span class="q-badge">{badge}</span>}
              </div>
              <Sparkline ring={store.ring(t.index)} version={store.version} />
              <WriteControl tag={t} />
            </div>
          );
        })}
      </div>

      <h3>Devices</h3>
      <div class="cards">
        {plant.devices.map((d) => {
          const s = store.devices.find((x) => x.index === d.index);
          const state = s?.state ?? "connecting";
          return (
            <div class="card" data-testid="device-card" data-device={d.id}>
              <div class="title">
                <span>{d.name}</span>
                <span class={`state state-${state}`}>{state}</span>
              </div>
              <dl class="facts">
                <dt>Link</dt>
                <dd>
                  {d.link} unit {d.unit}
                </dd>
                <dt>Last poll</dt>
                <dd>{formatAgo(s?.lastPoll, now)}</dd>
                <dt>Error rate</dt>
                <dd>{s ? `${(s.errorRate * 100).toFixed(1)} %` : "—"}</dd>
                <dt>Latency</dt>
                <dd>{s ? `${s.latencyAvgMs.toFixed(1)} ms avg, ${s.latencyMaxMs.toFixed(1)} max` : "—"}</dd>
              </dl>
            </div>
          );
        })}
      </div>
    </section>
  );
}
