// The alarm summary: active alarms by priority then time, unacknowledged ones marked; acknowledge,
// shelve, out of service. Shelved and out-of-service alarms are listed apart.
import { useState } from "preact/hooks";
import type { AlarmActionKind, AlarmRow, PriorityName, UiError } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";

const RANK: Record<PriorityName, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Priority first, then the newest first. */
export function sortAlarms(rows: AlarmRow[]): AlarmRow[] {
  return [...rows].sort((a, b) => RANK[a.priority] - RANK[b.priority] || (b.since ?? b.changed) - (a.since ?? a.changed));
}

const STATE_TEXT: Record<string, string> = {
  normal: "normal",
  activeUnacked: "ACTIVE · unacknowledged",
  activeAcked: "active · acknowledged",
  returnedUnacked: "cleared · unacknowledged",
};

function AlarmTable({ rows, selected, toggle, label }: { rows: AlarmRow[]; selected: Set<string>; toggle: (id: string) => void; label: string }) {
  return (
    <table class="grid" aria-label={label}>
      <thead>
        <tr>
          <th>Select</th>
          <th>Priority</th>
          <th>Since</th>
          <th>Source</th>
          <th>Kind</th>
          <th>Message</th>
          <th class="n">Value</th>
          <th class="n">Limit</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => {
          const unacked = a.state === "activeUnacked" || a.state === "returnedUnacked";
          return (
            <tr
              class={`alarm-row ${unacked ? "unacked-row" : "acked"}`}
              data-testid="alarm-row"
              data-alarm={a.id}
              data-state={a.state}
            >
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${a.source} ${a.kind}`}
                  checked={selected.has(a.id)}
                  onChange={() => toggle(a.id)}
                />
              </td>
              <td class={`p-${a.priority}`}>
                <strong>{a.priority}</strong>
              </td>
              <td class="num">{formatDateTime(a.since ?? a.changed)}</td>
              <td>{a.source}</td>
              <td>{a.kind}</td>
              <td class={unacked ? "unacked" : ""}>{a.message}</td>
              <td class="n">{formatNumber(a.value)}</td>
              <td class="n">{formatNumber(a.limit)}</td>
              <td>
                {STATE_TEXT[a.state] ?? a.state}
                {a.shelvedUntil !== null && ` · shelved until ${formatDateTime(a.shelvedUntil)}`}
              </td>
            </tr>
          );
        })}
        {rows.length === 0 && (
          <tr>
            <td colSpan={9} class="muted">
              none
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

export function Alarms() {
  const store = useLive();
  const { backend, settings, saveSettings, session, setSession } = useServices();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  // Typed locally (the screen re-renders with every live batch) and saved when the field is left.
  const [operator, setOperator] = useState(settings.operator);
  const [comment, setComment] = useState("");
  const [minutes, setMinutes] = useState(60);
  // Shelving hides an alarm, so it needs a reason (ISA-18.2); it goes to the journal as the comment.
  const [reason, setReason] = useState("");
  const [reasonMissing, setReasonMissing] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState("");
  const view = store.alarms;
  const rows = sortAlarms(view.alarms);
  // On a plant with users the signed-in user acts (the Rust side puts their name on it); without
  // users, the typed name.
  const actor = session.users ? session.user ?? "" : operator;
  const mayAct = session.alarmActions;

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  const act = async (action: AlarmActionKind, all = false) => {
    setError(null);
    const shelving = action === "shelve";
    const text = (shelving ? reason : comment).trim();
    if (shelving && text === "") {
      setReasonMissing(true);
      return;
    }
    setReasonMissing(false);
    try {
      await backend.alarmAct({
        action,
        ids: all ? [] : [...selected],
        all,
        user: actor,
        comment: text === "" ? null : text,
        shelveMinutes: shelving ? minutes : null,
      });
      store.setAlarms(await backend.alarmSnapshot());
      if (!session.users) saveSettings({ operator });
      setDone(`${action} done by ${actor}`);
      setSelected(new Set());
      if (shelving) setReason("");
      else setComment("");
    } catch (e) {
      const err = e as UiError;
      setError(err);
      if (err.code === "denied") backend.session(false).then(setSession, () => {});
    }
  };

  const none = selected.size === 0 || !mayAct;
  return (
    <section aria-label="Alarm summary">
      <h2>Alarms</h2>
      {!view.available && <p class="note">The alarm service is not running for this plant.</p>}
      <div class="toolbar" role="toolbar" aria-label="Alarm actions">
        {session.users ? (
          <span data-testid="acting-user">
            {mayAct ? (
              <>
                Acting as <strong>{session.user}</strong>
              </>
            ) : (
              <span class="muted">Sign in as an operator to acknowledge or shelve alarms</span>
            )}
          </span>
        ) : (
          <label>
            Operator{" "}
            <input
              value={operator}
              aria-label="Operator name"
              data-testid="operator"
              onInput={(e) => setOperator((e.currentTarget as HTMLInputElement).value)}
              onChange={() => saveSettings({ operator })}
            />
          </label>
        )}
        <input
          class="grow"
          placeholder="Comment (optional)"
          aria-label="Comment"
          data-testid="alarm-comment"
          value={comment}
          onInput={(e) => setComment((e.currentTarget as HTMLInputElement).value)}
        />
        <button class="primary" disabled={none} onClick={() => act("acknowledge")} data-testid="ack-selected">
          Acknowledge selected
        </button>
        <button disabled={!mayAct} onClick={() => act("acknowledge", true)} data-testid="ack-all">
          Acknowledge all
        </button>
        <label>
          Shelve for{" "}
          <input
            type="number"
            min={1}
            style={{ width: "5em" }}
            value={minutes}
            aria-label="Shelve minutes"
            onInput={(e) => setMinutes(Number((e.currentTarget as HTMLInputElement).value))}
          />{" "}
          min
        </label>
        <label>
          Reason{" "}
          <input
            placeholder="Why shelve? (required)"
            aria-label="Shelve reason"
            aria-required="true"
            aria-invalid={reasonMissing}
            aria-describedby={reasonMissing ? "shelve-reason-error" : undefined}
            data-testid="shelve-reason"
            value={reason}
            onInput={(e) => {
              setReason((e.currentTarget as HTMLInputElement).value);
              setReasonMissing(false);
            }}
          />
        </label>
        {reasonMissing && (
          <span class="field-error" id="shelve-reason-error" role="alert" data-testid="shelve-reason-error">
            Enter a reason to shelve
          </span>
        )}
        <button disabled={none} onClick={() => act("shelve")} data-testid="shelve">
          Shelve
        </button>
        <button disabled={none} onClick={() => act("unshelve")}>
          Unshelve
        </button>
        <button disabled={none} onClick={() => act("outOfService")}>
          Out of service
        </button>
        <button disabled={none} onClick={() => act("returnToService")}>
          Return to service
        </button>
      </div>
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {done && <p class="muted" data-testid="alarm-action-done">{done}</p>}
      <AlarmTable rows={rows} selected={selected} toggle={toggle} label="Active alarms" />
      <h3>Shelved</h3>
      <AlarmTable rows={sortAlarms(view.shelved)} selected={selected} toggle={toggle} label="Shelved alarms" />
      <h3>Out of service</h3>
      <AlarmTable rows={sortAlarms(view.outOfService)} selected={selected} toggle={toggle} label="Out-of-service alarms" />
      <p class="muted">
        Sound for critical and high alarms:{" "}
        <button aria-pressed={settings.sound} data-testid="sound-toggle" onClick={() => saveSettings({ sound: !settings.sound })}>
          {settings.sound ? "on" : "off"}
        </button>{" "}
        Desktop notifications:{" "}
        <button aria-pressed={settings.notify} data-testid="notify-toggle" onClick={() => saveSettings({ notify: !settings.notify })}>
          {settings.notify ? "on" : "off"}
        </button>
      </p>
    </section>
  );
}
