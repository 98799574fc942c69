// The northbound (Sparkplug B) link on the Devices screen: connected broker, messages/s, the replay's
// backlog and the last error. Polled once a second while the screen is open; absent for a plant that
// configures no northbound.
import { useEffect, useState } from "preact/hooks";
import type { NorthboundStateName, NorthboundView } from "../bindings/ipc";
import { useServices } from "../context";
import { formatClock } from "../format";

const STATE_TEXT: Record<NorthboundStateName, string> = {
  connecting: "connecting",
  online: "online",
  waitingForPrimaryHost: "waiting for the primary host",
  offline: "offline",
  stopped: "stopped",
  notStarted: "not started",
};

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
  if (seconds < 1) return "caught up";
  if (seconds < 120) return `${seconds.toFixed(0)} s behind`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min behind`;
  return `${(seconds / 3600).toFixed(1)} h behind`;
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
  return (
    <div class="card" data-testid="northbound">
      <div class="title">
        <span>Northbound: Sparkplug B</span>
        <span class={`state state-${STATE_CLASS[view.state]}`} data-testid="northbound-state">
          {STATE_TEXT[view.state]}
        </span>
      </div>
      <dl class="facts">
        <dt>Broker</dt>
        <dd data-testid="northbound-broker">{view.broker ?? "—"}</dd>
        <dt>Messages</dt>
        <dd>
          {view.messagesPerS.toFixed(0)}/s, {view.metricsPerS.toFixed(0)} metrics/s
        </dd>
        <dt>Published</dt>
        <dd>
          {view.metricsPublished} metrics, {view.metricsReplayed} replayed from history
        </dd>
        <dt>Backlog</dt>
        <dd data-testid="northbound-backlog">{describeBacklog(view.backlogS)}</dd>
        <dt>Commands</dt>
        <dd>
          {view.commandsDone} done, {view.commandsIgnored} refused or ignored
        </dd>
        <dt>Last error</dt>
        <dd data-testid="northbound-error">
          {view.lastError ? (
            <>
              {view.lastErrorAt !== null && <span class="num muted">{formatClock(view.lastErrorAt)} </span>}
              {view.lastError}
            </>
          ) : (
            "none"
          )}
        </dd>
      </dl>
    </div>
  );
}
