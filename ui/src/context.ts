// What every screen needs: the backend (real or, in tests, mocked through Tauri's mockIPC) and the
// live store.
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { SessionView, Settings } from "./bindings/ipc";
import { DEFAULT_SETTINGS } from "./defaults";
import { backend, type Backend } from "./ipc";
import { LiveStore } from "./live";

export { DEFAULT_SETTINGS };

export interface AppServices {
  backend: Backend;
  store: LiveStore;
  settings: Settings;
  saveSettings: (patch: Partial<Settings>) => void;
  go: (screen: string, pens?: number[]) => void;
  /** Who acts from the window, as the Rust side last said. */
  session: SessionView;
  /** Shows a session the Rust side returned (after a sign-in, a sign-out or a refusal). */
  setSession: (session: SessionView) => void;
}

/** Nobody signed in on a plant without users: today's behaviour (typed names on alarms, no writes). */
export const NO_SESSION: SessionView = {
  user: null,
  role: "viewer",
  users: false,
  alarmActions: true,
  audit: false,
  idleLockS: 900,
  locked: null,
};

export const Services = createContext<AppServices>({
  backend,
  store: new LiveStore(),
  settings: DEFAULT_SETTINGS,
  saveSettings: () => {},
  go: () => {},
  session: NO_SESSION,
  setSession: () => {},
});

export const useServices = () => useContext(Services);

/** Re-renders the calling component whenever the live store changes (once per batch). */
export function useLive(): LiveStore {
  const { store } = useServices();
  const [, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return store;
}

/** The current time, refreshed every `everyMs` (for "12 s ago" texts). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
