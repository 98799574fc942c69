// The alarm summary: active alarms by priority then time, unacknowledged ones marked; acknowledge,
// shelve, out of service. Shelved and out-of-service alarms are listed apart.
import { useState } from "preact/hooks";
import type { AlarmActionKind, AlarmRow, PriorityName, UiError } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { formatDateTime, formatNumber } from "../format";
import { useT } from "../i18n";
import { alarmKind } from "../i18n/words";
import { alarmMessage } from "../plant-text";

const RANK: Record<PriorityName, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Priority first, then the newest first. */
export function sortAlarms(rows: AlarmRow[]): AlarmRow[] {
  return [...rows].sort((a, b) => RANK[a.priority] - RANK[b.priority] || (b.since ?? b.changed) - (a.since ?? a.changed));
}

function AlarmTable({ rows, selected, toggle, label }: { rows: AlarmRow[]; selected: Set<string>; toggle: (id: string) => void; label: string }) {
  const t = useT();
  const plant = useServices().store.plant;
  return (
    <table class="grid" aria-label={label}>
      <thead>
        <tr>
          <th>{t("alarms.col.select")}</th>
          <th>{t("alarms.col.priority")}</th>
          <th>{t("alarms.col.since")}</th>
          <th>{t("alarms.col.source")}</th>
          <th>{t("alarms.col.kind")}</th>
          <th>{t("alarms.col.message")}</th>
          <th class="n">{t("alarms.col.value")}</th>
          <th class="n">{t("alarms.col.limit")}</th>
          <th>{t("alarms.col.state")}</th>
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
                  aria-label={t("alarms.select", { source: a.source, kind: alarmKind(a.kind) })}
                  checked={selected.has(a.id)}
                  onChange={() => toggle(a.id)}
                />
              </td>
              <td class={`p-${a.priority}`}>
                <strong>{t(`priority.${a.priority}`)}</strong>
              </td>
              <td class="num">{formatDateTime(a.since ?? a.changed)}</td>
              <td>{a.source}</td>
              <td>{alarmKind(a.kind)}</td>
              <td class={unacked ? "unacked" : ""}>{alarmMessage(plant, a)}</td>
              <td class="n">{formatNumber(a.value)}</td>
              <td class="n">{formatNumber(a.limit)}</td>
              <td>
                {t(`alarmState.${a.state}`)}
                {a.shelvedUntil !== null && t("alarms.shelvedUntil", { time: formatDateTime(a.shelvedUntil) })}
              </td>
            </tr>
          );
        })}
        {rows.length === 0 && (
          <tr>
            <td colSpan={9} class="muted">
              {t("common.none")}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

export function Alarms() {
  const t = useT();
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
      setDone(t(`alarms.done.${action}`, { user: actor }));
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
    <section aria-label={t("alarms.label")}>
      <h2>{t("alarms.title")}</h2>
      {!view.available && <p class="note">{t("alarms.notRunning")}</p>}
      <div class="toolbar" role="toolbar" aria-label={t("alarms.actions")}>
        {session.users ? (
          <span data-testid="acting-user">
            {mayAct ? (
              <>
                {t("alarms.actingAs")} <strong>{session.user}</strong>
              </>
            ) : (
              <span class="muted">{t("alarms.signInToAct")}</span>
            )}
          </span>
        ) : (
          <label>
            {t("alarms.operator")}{" "}
            <input
              value={operator}
              aria-label={t("alarms.operatorLabel")}
              data-testid="operator"
              onInput={(e) => setOperator((e.currentTarget as HTMLInputElement).value)}
              onChange={() => saveSettings({ operator })}
            />
          </label>
        )}
        <input
          class="grow"
          placeholder={t("alarms.comment")}
          aria-label={t("alarms.commentLabel")}
          data-testid="alarm-comment"
          value={comment}
          onInput={(e) => setComment((e.currentTarget as HTMLInputElement).value)}
        />
        <button class="primary" disabled={none} onClick={() => act("acknowledge")} data-testid="ack-selected">
          {t("alarms.ackSelected")}
        </button>
        <button disabled={!mayAct} onClick={() => act("acknowledge", true)} data-testid="ack-all">
          {t("alarms.ackAll")}
        </button>
        <label>
          {t("alarms.shelveFor")}{" "}
          <input
            type="number"
            min={1}
            style={{ width: "5em" }}
            value={minutes}
            aria-label={t("alarms.shelveMinutes")}
            onInput={(e) => setMinutes(Number((e.currentTarget as HTMLInputElement).value))}
          />{" "}
          {t("alarms.minutes")}
        </label>
        <label>
          {t("alarms.reason")}{" "}
          <input
            placeholder={t("alarms.reasonPlaceholder")}
            aria-label={t("alarms.reasonLabel")}
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
            {t("alarms.reasonMissing")}
          </span>
        )}
        <button disabled={none} onClick={() => act("shelve")} data-testid="shelve">
          {t("alarms.shelve")}
        </button>
        <button disabled={none} onClick={() => act("unshelve")}>
          {t("alarms.unshelve")}
        </button>
        <button disabled={none} onClick={() => act("outOfService")}>
          {t("alarms.outOfService")}
        </button>
        <button disabled={none} onClick={() => act("returnToService")}>
          {t("alarms.returnToService")}
        </button>
      </div>
      {error && (
        <div class="error-box" role="alert">
          {error.message}
        </div>
      )}
      {done && <p class="muted" data-testid="alarm-action-done">{done}</p>}
      <AlarmTable rows={rows} selected={selected} toggle={toggle} label={t("alarms.active")} />
      <h3>{t("alarms.shelved")}</h3>
      <AlarmTable rows={sortAlarms(view.shelved)} selected={selected} toggle={toggle} label={t("alarms.shelvedTable")} />
      <h3>{t("alarms.outOfService")}</h3>
      <AlarmTable rows={sortAlarms(view.outOfService)} selected={selected} toggle={toggle} label={t("alarms.outOfServiceTable")} />
      <p class="muted">
        {t("alarms.sound")}{" "}
        <button aria-pressed={settings.sound} data-testid="sound-toggle" onClick={() => saveSettings({ sound: !settings.sound })}>
          {settings.sound ? t("common.on") : t("common.off")}
        </button>{" "}
        {t("alarms.notify")}{" "}
        <button aria-pressed={settings.notify} data-testid="notify-toggle" onClick={() => saveSettings({ notify: !settings.notify })}>
          {settings.notify ? t("common.on") : t("common.off")}
        </button>
      </p>
    </section>
  );
}
