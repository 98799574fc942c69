// The write control of one tag: a number entry with its range, a toggle for a boolean, a button for a
// pulse; a confirmation that names the tag, the old and the new value when one is due; the result in
// place. Shown only to a signed-in user whose role may write the tag (the Rust side checks again).
import { useState } from "preact/hooks";
import type { TagInfo, UiError, WireValue, WriteResult } from "../bindings/ipc";
import { useServices } from "../context";
import {
  confirmText,
  controlKind,
  needsConfirm,
  parseEntry,
  rangeText,
  resultText,
  writableBy,
} from "../write";
import { useT } from "../i18n";
import { Modal } from "./Modal";

interface Pending {
  value: WireValue;
  text: string;
}

export function WriteControl({ tag }: { tag: TagInfo }) {
  const t = useT();
  const { backend, store, session, setSession } = useServices();
  const [entry, setEntry] = useState("");
  const [problem, setProblem] = useState("");
  const [pending, setPending] = useState<Pending | null>(null);
  const [result, setResult] = useState<WriteResult | null>(null);
  const [busy, setBusy] = useState(false);
  const write = writableBy(tag, session);
  if (!write) return null;
  const kind = controlKind(tag, write);
  const current = store.values[tag.index]?.v ?? null;

  const send = async (value: WireValue) => {
    setPending(null);
    setBusy(true);
    setProblem("");
    setResult(null);
    try {
      const r = await backend.writeTag({ tag: tag.index, value, comment: null });
      setResult(r);
      if (r.result === "done") setEntry("");
      // A refusal for the role may mean the session locked meanwhile: show the session as it is now.
      if (r.result === "denied") backend.session(false).then(setSession, () => {});
    } catch (e) {
      const err = e as UiError;
      setProblem(err.message);
      if (err.code === "denied") backend.session(false).then(setSession, () => {});
    } finally {
      setBusy(false);
    }
  };

  const ask = (value: WireValue) => {
    if (needsConfirm(tag, write, current, value)) {
      setPending({ value, text: confirmText(tag, write, current, value, kind === "pulse") });
    } else {
      send(value);
    }
  };

  const submitEntry = () => {
    if (kind === "text") return ask(entry);
    const parsed = parseEntry(entry, write);
    if ("problem" in parsed) {
      setResult(null);
      setProblem(parsed.problem);
      return;
    }
    setProblem("");
    ask(parsed.value);
  };

  const range = rangeText(write, tag.unit);
  return (
    <div
      class="write-control"
      data-testid="write-control"
      data-tag={tag.id}
      // Clicks and keys here are the control's, not the card's or row's (which open a trend).
      onClick={(e) => e.stopPropagation()}
      onKeyDown={(e) => e.stopPropagation()}
    >
      {(kind === "number" || kind === "text") && (
        <>
          <input
            class="write-entry"
            inputMode={kind === "number" ? "decimal" : "text"}
            placeholder={kind === "number" ? t("write.newValue") : t("write.newText")}
            aria-label={range ? t("write.entryLabelRange", { id: tag.id, range }) : t("write.entryLabel", { id: tag.id })}
            aria-invalid={problem !== ""}
            data-testid="write-entry"
            value={entry}
            disabled={busy}
            onInput={(e) => setEntry((e.currentTarget as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                submitEntry();
              }
            }}
          />
          {range && (
            <span class="muted range" data-testid="write-range">
              {range}
            </span>
          )}
          <button disabled={busy} onClick={submitEntry} data-testid="write-set">
            {t("write.set")}
          </button>
        </>
      )}
      {kind === "toggle" && (
        <button
          disabled={busy}
          aria-pressed={current === true}
          data-testid="write-toggle"
          onClick={() => ask(!(current === true))}
        >
          {current === true ? t("write.turnOff") : t("write.turnOn")}
        </button>
      )}
      {kind === "pulse" && (
        <button disabled={busy} data-testid="write-pulse" onClick={() => ask(true)}>
          {t("write.pulse")}
        </button>
      )}
      {busy && <span class="muted">{t("write.writing")}</span>}
      {problem && (
        <span class="field-error" role="alert" data-testid="write-problem">
          {problem}
        </span>
      )}
      {result && (
        <span
          class={`write-result r-${result.result}`}
          role="status"
          data-testid="write-result"
          data-result={result.result}
          title={result.message}
        >
          {resultText(result, tag)}
        </span>
      )}
      {result?.auditError && (
        <span class="field-error" role="alert" data-testid="write-audit-error">
          {t("write.notAudited", { error: result.auditError })}
        </span>
      )}
      {pending && (
        <Modal title={t("write.confirmTitle")} testId="confirm-write" onCancel={() => setPending(null)}>
          <p data-testid="confirm-text">{pending.text}</p>
          <div class="buttons">
            <button class="primary" data-autofocus data-testid="confirm-ok" onClick={() => send(pending.value)}>
              {t("write.confirmOk")}
            </button>
            <button data-testid="confirm-cancel" onClick={() => setPending(null)}>
              {t("common.cancel")}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
