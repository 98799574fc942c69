// Sign in and out, in the header. Who is signed in is the Rust side's to say: the page shows the session
// it was last given and asks again after every sign-in, sign-out and a few seconds of use.
import { useState } from "preact/hooks";
import type { UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { useT } from "../i18n";
import { Modal } from "./Modal";

export function SessionBar() {
  const t = useT();
  const { session } = useServices();
  const [signingIn, setSigningIn] = useState(false);
  const { backend, setSession } = useServices();

  if (!session.users) {
    return (
      <span
        class="session muted"
        data-testid="session-user"
        title={t("session.noUsersHint")}
      >
        {t("session.noUsers")}
      </span>
    );
  }
  return (
    <div class="session">
      {session.user !== null ? (
        <>
          <span data-testid="session-user" title={t("session.signedInHint", { minutes: Math.round(session.idleLockS / 60) })}>
            {session.user} <span class="role">{t(`role.${session.role}`)}</span>
          </span>
          <button data-testid="sign-out" onClick={() => backend.signOut().then(setSession, () => {})}>
            {t("session.signOut")}
          </button>
        </>
      ) : (
        <>
          <span data-testid="session-user" class="muted">
            {session.locked ? t("session.locked", { user: session.locked }) : t("session.viewer")}
          </span>
          <button class="primary" data-testid="sign-in" onClick={() => setSigningIn(true)}>
            {t("session.signIn")}
          </button>
        </>
      )}
      {signingIn && <SignInDialog initialName={session.locked ?? ""} onClose={() => setSigningIn(false)} />}
    </div>
  );
}

function SignInDialog({ initialName, onClose }: { initialName: string; onClose: () => void }) {
  const t = useT();
  const { backend, setSession } = useServices();
  const [name, setName] = useState(initialName);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      setSession(await backend.signIn(name, password));
      onClose();
    } catch (err) {
      setError(err as UiError);
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={t("session.signIn")} testId="sign-in-dialog" onCancel={onClose}>
      <form class="form" onSubmit={submit}>
        <label>
          {t("session.name")}
          <input
            autoComplete="username"
            data-testid="sign-in-name"
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t("session.password")}
          <input
            type="password"
            autoComplete="current-password"
            data-testid="sign-in-password"
            value={password}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <p class="field-error" role="alert" data-testid="sign-in-error">
            {error.message}
          </p>
        )}
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy || name.trim() === ""} data-testid="sign-in-submit">
            {t("session.signIn")}
          </button>
          <button type="button" onClick={onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
