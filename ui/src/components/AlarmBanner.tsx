// Always on screen: active alarms by priority and the newest unacknowledged alarm.
import type { PriorityName } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { formatClock } from "../format";
import { useT } from "../i18n";
import { alarmMessage } from "../plant-text";

export const PRIORITIES: PriorityName[] = ["critical", "high", "medium", "low"];

export function AlarmBanner() {
  const t = useT();
  const store = useLive();
  const { go } = useServices();
  const a = store.alarms;
  const newest = a.newest;
  return (
    <div
      class={`banner ${a.unacknowledged > 0 ? "has-unacked" : ""}`}
      role="status"
      aria-live="polite"
      aria-label={t("banner.label")}
      data-testid="alarm-banner"
      onClick={() => go("alarms")}
    >
      {PRIORITIES.map((p) => (
        <span
          class={`chip p-${p} ${a.counts[p] === 0 ? "zero" : ""}`}
          title={t("banner.countHint", { count: a.counts[p], priority: t(`priority.${p}`) })}
          data-testid={`count-${p}`}
        >
          {t(`priorityLetter.${p}`)} {a.counts[p]}
        </span>
      ))}
      <span class="newest" data-testid="newest-alarm">
        {!a.available ? (
          <span class="muted">{t("banner.notRunning")}</span>
        ) : newest ? (
          <span class={`p-${newest.priority} unacked`}>
            {formatClock(newest.since ?? newest.changed)} · {newest.source} · {alarmMessage(store.plant, newest)}
          </span>
        ) : (
          <span class="muted">{t("banner.noUnacked")}</span>
        )}
      </span>
      <span class="muted num">{t("banner.unacked", { count: a.unacknowledged })}</span>
    </div>
  );
}
