// The northbound (Sparkplug B) link on the Devices screen: connected broker, messages/s, the replay's
// backlog and the last error. Polled once a second while the screen is open; absent for a plant that
// configures no northbound.
import { useEffect, useState } from "preact/hooks";
import type { NorthboundStateName, NorthboundView } from "../bindings/ipc";
import { useServices } from "../context";
import { formatClock, formatFixed } from "../format";
import { t as translate, useT } from "../i18n";

// The state badge's class, in the device states' colours: online green, waiting amber, the rest red.
const STATE_CLASS: Record<NorthboundStateName, string> = {
  connecting: "connecting",
  online: "online",
  waitingForPrimaryHost: "degraded",
  offline: "offline",
  stopped: "offline",
  notStarted: "offline",
};

/** The backlog as people read it: "caught up", or seconds/minutes/hours behind. */
export function describeBacklog(seconds: number): string {
  if (seconds < 1) return translate("northbound.caughtUp");
  if (seconds < 120) return translate("northbound.secondsBehind", { n: formatFixed(seconds, 0) });
  if (seconds < 7200) return translate("northbound.minutesBehind", { n: formatFixed(seconds / 60, 0) });
  return translate("northbound.hoursBehind", { n: formatFixed(seconds / 3600, 1) });
}

export function NorthboundCard() {
  const { backend } = useServices();
  const [view, setView] = useState<NorthboundView | null>(null);
  useEffect(() => {
    let live = true;
    const poll = () =>
      backend
        .northboundStatus()
        .then((v) => live && setView(v))
        .catch(() => live && setView(null));
    poll();
    const timer = setInterval(poll, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [backend]);
  if (!view) return null;
  return <NorthboundFacts view={view} />;
}

export function NorthboundFacts({ view }: { view: NorthboundView }) {
  const t = useT();
  return (
    <div class="card" data-testid="northbound">
      <div class="title">
        <span>{t("northbound.title")}</span>
        <span class={`state state-${STATE_CLASS[view.state]}`} data-testid="northbound-state">
          {t(`northbound.state.${view.state}`)}
        </span>
      </div>
      <dl class="facts">
        <dt>{t("northbound.broker")}</dt>
        <dd data-testid="northbound-broker">{view.broker ?? "—"}</dd>
        <dt>{t("northbound.messages")}</dt>
        <dd>
          {t("northbound.messagesText", { messages: formatFixed(view.messagesPerS, 0), metrics: formatFixed(view.metricsPerS, 0) })}
        </dd>
        <dt>{t("northbound.published")}</dt>
        <dd>{t("northbound.publishedText", { published: view.metricsPublished, replayed: view.metricsReplayed })}</dd>
        <dt>{t("northbound.backlog")}</dt>
        <dd data-testid="northbound-backlog">{describeBacklog(view.backlogS)}</dd>
        <dt>{t("northbound.commands")}</dt>
        <dd>{t("northbound.commandsText", { done: view.commandsDone, ignored: view.commandsIgnored })}</dd>
        <dt>{t("northbound.lastError")}</dt>
        <dd data-testid="northbound-error">
          {view.lastError ? (
            <>
              {view.lastErrorAt !== null && <span class="num muted">{formatClock(view.lastErrorAt)} </span>}
              {view.lastError}
            </>
          ) : (
            t("common.none")
          )}
        </dd>
      </dl>
    </div>
  );
}
