// Sign in and out, in the header. Who is signed in is the Rust side's to say: the page shows the session
// it was last given and asks again after every sign-in, sign-out and a few seconds of use.
import { useState } from "preact/hooks";
import type { UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { Modal } from "./Modal";

export function SessionBar() {
  const { session } = useServices();
  const [signingIn, setSigningIn] = useState(false);
  const { backend, setSession } = useServices();

  if (!session.users) {
    return (
      <span
        class="session muted"
        data-testid="session-user"
        title="This plant has no users: alarms take a typed name and nothing can be written. An admin adds users with `plantwatch users add`."
      >
        no users
      </span>
    );
  }
  return (
    <div class="session">
      {session.user !== null ? (
        <>
          <span data-testid="session-user" title={`Signed in; locks after ${Math.round(session.idleLockS / 60)} min unused`}>
            {session.user} <span class="role">{session.role}</span>
          </span>
          <button data-testid="sign-out" onClick={() => backend.signOut().then(setSession, () => {})}>
            Sign out
          </button>
        </>
      ) : (
        <>
          <span data-testid="session-user" class="muted">
            {session.locked ? `${session.locked}: locked (idle)` : "viewer"}
          </span>
          <button class="primary" data-testid="sign-in" onClick={() => setSigningIn(true)}>
            Sign in
          </button>
        </>
      )}
      {signingIn && <SignInDialog initialName={session.locked ?? ""} onClose={() => setSigningIn(false)} />}
    </div>
  );
}

function SignInDialog({ initialName, onClose }: { initialName: string; onClose: () => void }) {
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
    <Modal title="Sign in" testId="sign-in-dialog" onCancel={onClose}>
      <form class="form" onSubmit={submit}>
        <label>
          Name
          <input
            autoComplete="username"
            data-testid="sign-in-name"
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Password
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
            Sign in
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
