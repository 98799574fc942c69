// The browser transport: the window's commands over the local API's `/ui/...` routes, for the screens a
// plant serves to browsers (`[api] browser = true`). Same commands, same shapes and the same UiError as
// Tauri's IPC; only the carriage differs:
//   - a command is `POST /ui/call/<command>` with the invoke arguments as JSON;
//   - signing in is `POST /ui/sign-in`, which answers a session token kept in this tab's
//     sessionStorage and sent as `Authorization: Bearer` (never a cookie, so no other site can act
//     with it); without one the browser reads everything and may act on nothing;
//   - live batches come over the WebSocket `/ui/live`; when it drops (the page fell behind, the server
//     restarted) the page reconnects and asks for a fresh snapshot;
//   - preferences (theme, language, pinned tags) stay in this browser's localStorage.
import type { LiveBatch, SessionView, Settings, UiError } from "./bindings/ipc";
import { DEFAULT_SETTINGS } from "./defaults";

const TOKEN_KEY = "plantwatch.session";
const SETTINGS_KEY = "plantwatch.settings";
/** How long the page waits before reconnecting a dropped live stream. */
export const RECONNECT_MS = 1000;

/** True in Plantwatch's window (Tauri's IPC is there), false in a browser. */
export function inWindow(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function uiError(e: unknown, status: number): UiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const err = e as UiError;
    return { code: err.code, message: err.message, problems: err.problems ?? [] };
  }
  return { code: "engine", message: `the Plantwatch server answered HTTP ${status}`, problems: [] };
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (e) {
    throw { code: "engine", message: `the Plantwatch server cannot be reached: ${String(e)}`, problems: [] } as UiError;
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.ok) return json as T;
  // The server forgot this tab's sign-in (it restarted): carry on as a viewer.
  if (token && (json as { code?: string } | null)?.code === "sessionEnded") {
    sessionStorage.removeItem(TOKEN_KEY);
    return post<T>(path, body);
  }
  throw uiError(json, response.status);
}

function loadSettings(): Settings {
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") as Partial<Settings>;
    return { ...DEFAULT_SETTINGS, ...saved };
  } catch {
    return DEFAULT_SETTINGS;
  }
}

/** One of the window's commands, from a browser. */
export async function browserCall<T>(cmd: string, args: Record<string, unknown>): Promise<T> {
  switch (cmd) {
    case "settings_get":
      return loadSettings() as T;
    case "settings_set":
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(args.settings));
      return undefined as T;
    case "sign_in": {
      const answer = await post<{ token: string; session: SessionView }>("/ui/sign-in", args);
      sessionStorage.setItem(TOKEN_KEY, answer.token);
      return answer.session as T;
    }
    case "sign_out": {
      const view = await post<SessionView>("/ui/sign-out", {});
      sessionStorage.removeItem(TOKEN_KEY);
      return view as T;
    }
    default:
      return post<T>(`/ui/call/${cmd}`, args);
  }
}

/** The live batches of the page's server, reconnecting (with a resync) whenever the stream drops. */
export async function browserLive(onBatch: (batch: LiveBatch) => void): Promise<void> {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ui/live`;
  const open = (reconnected: boolean) => {
    const socket = new WebSocket(url);
    socket.onopen = () => {
      // Whatever changed while the stream was down is read again as a snapshot.
      if (reconnected) onBatch({ at: Date.now(), tags: [], devices: null, alarms: null, urgent: [], resync: true });
    };
    socket.onmessage = (m) => {
      try {
        onBatch(JSON.parse(String(m.data)) as LiveBatch);
      } catch {
        // Not a batch: ignore it, the next one comes within a tenth of a second.
      }
    };
    socket.onclose = () => setTimeout(() => open(true), RECONNECT_MS);
  };
  open(false);
}
