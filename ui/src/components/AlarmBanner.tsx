// Always on screen: active alarms by priority and the newest unacknowledged alarm.
import type { PriorityName } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { formatClock } from "../format";

export const PRIORITIES: PriorityName[] = ["critical", "high", "medium", "low"];

export function AlarmBanner() {
  const store = useLive();
  const { go } = useServices();
  const a = store.alarms;
  const newest = a.newest;
  return (
    <div
      class={`banner ${a.unacknowledged > 0 ? "has-unacked" : ""}`}
      role="status"
      aria-live="polite"
      aria-label="Alarm banner"
      data-testid="alarm-banner"
      onClick={() => go("alarms")}
    >
      {PRIORITIES.map((p) => (
        <span
          class={`chip p-${p} ${a.counts[p] === 0 ? "zero" : ""}`}
          title={`${a.counts[p]} active ${p} alarms`}
          data-testid={`count-${p}`}
        >
          {p[0].toUpperCase()} {a.counts[p]}
        </span>
      ))}
      <span class="newest" data-testid="newest-alarm">
        {!a.available ? (
          <span class="muted">Alarms are not running for this plant</span>
        ) : newest ? (
          <span class={`p-${newest.priority} unacked`}>
            {formatClock(newest.since ?? newest.changed)} · {newest.source} · {newest.message}
          </span>
        ) : (
          <span class="muted">No unacknowledged alarms</span>
        )}
      </span>
      <span class="muted num">{a.unacknowledged} unacked</span>
    </div>
  );
}
