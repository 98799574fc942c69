// The browser transport (src/browser.ts): the window's commands over HTTP, as the page uses them when a
// plant serves its screens to browsers. `fetch` here is a recorder standing in for the server; the real
// server and a real browser are exercised by tests/e2e/browser_test.py.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backend } from "../src/ipc";
import { DEFAULT_SETTINGS } from "../src/defaults";

interface Sent {
  url: string;
  auth: string | null;
  body: unknown;
}

let sent: Sent[] = [];

function serve(answer: (url: string, sent: Sent) => { status: number; body: unknown }) {
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    const s = { url, auth: headers.authorization ?? null, body: JSON.parse(String(init.body)) };
    sent.push(s);
    const { status, body } = answer(url, s);
    return new Response(JSON.stringify(body), { status });
  });
}

const VIEWER = { user: null, role: "viewer", users: true, alarmActions: false, audit: false, idleLockS: 900, locked: null };
const ADA = { ...VIEWER, user: "ada", role: "admin", alarmActions: true, audit: true };

beforeEach(() => {
  sent = [];
  sessionStorage.clear();
  localStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

describe("in a browser", () => {
  it("the page knows where it runs", () => {
    expect(backend.place).toBe("browser");
  });

  it("a command is a POST of its invoke arguments to /ui/call/<command>", async () => {
    serve(() => ({ status: 200, body: { from: 1, to: 2, columns: 0, pens: [] } }));
    const request = { tags: [3], from: 1, to: 2, columns: 10 };
    await backend.trendHistory(request as never);
    expect(sent).toEqual([{ url: "/ui/call/trend_history", auth: null, body: { request } }]);
  });

  it("a refusal rejects with the server's UiError", async () => {
    serve(() => ({ status: 404, body: { code: "notFound", message: "not in a browser", problems: [] } }));
    await expect(backend.reloadPlant()).rejects.toEqual({ code: "notFound", message: "not in a browser", problems: [] });
  });

  it("signing in keeps the session token for this tab and sends it from then on; signing out drops it", async () => {
    serve((url) =>
      url === "/ui/sign-in"
        ? { status: 200, body: { token: "pws_abc", session: ADA } }
        : url === "/ui/sign-out"
          ? { status: 200, body: VIEWER }
          : { status: 200, body: ADA },
    );
    expect(await backend.signIn("ada", "secret")).toEqual(ADA);
    expect(sent[0]).toEqual({ url: "/ui/sign-in", auth: null, body: { name: "ada", password: "secret" } });
    await backend.session(true);
    expect(sent[1].auth).toBe("Bearer pws_abc");
    expect(await backend.signOut()).toEqual(VIEWER);
    await backend.session(false);
    expect(sent[3].auth).toBeNull();
  });

  it("a session the server forgot (it restarted) is dropped and the command is sent again as a viewer", async () => {
    sessionStorage.setItem("plantwatch.session", "pws_old");
    serve((_, s) =>
      s.auth ? { status: 401, body: { code: "sessionEnded", message: "sign in again", problems: [] } } : { status: 200, body: VIEWER },
    );
    expect(await backend.session(false)).toEqual(VIEWER);
    expect(sent.map((s) => s.auth)).toEqual(["Bearer pws_old", null]);
  });

  it("preferences stay in this browser, never on the server", async () => {
    serve(() => ({ status: 500, body: null }));
    expect(await backend.settingsGet()).toEqual(DEFAULT_SETTINGS);
    await backend.settingsSet({ ...DEFAULT_SETTINGS, theme: "light", language: "zh-CN" });
    expect(await backend.settingsGet()).toMatchObject({ theme: "light", language: "zh-CN" });
    expect(sent).toEqual([]);
  });
});
