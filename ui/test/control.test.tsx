// Operator control in the window: sign in and out, write controls with confirmation and results, alarm
// actions under the signed-in name. The backend is Tauri's IPC, mocked with mockIPC.
import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { afterEach, describe, expect, it } from "vitest";
import type { AlarmRow, PlantInfo, SessionView, WriteResult } from "../src/bindings/ipc";
import { SessionBar } from "../src/components/SessionBar";
import { WriteControl } from "../src/components/WriteControl";
import { NO_SESSION, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore, NO_ALARMS } from "../src/live";
import { Alarms } from "../src/screens/Alarms";
import { Tags } from "../src/screens/Tags";
import { device, tag } from "./fixtures";

afterEach(() => {
  cleanup();
  clearMocks();
});

const PLANT: PlantInfo = {
  name: "Lift station",
  source: null,
  simulated: true,
  historyPath: "/tmp/p.db",
  devices: [device(0, "plc", 3, 0)],
  tags: [
    tag(0, 0, "plc/level", { unit: "m" }),
    tag(1, 0, "plc/start_level", { unit: "m", write: { role: "operator", min: 0.5, max: 3, confirm: null, pulseMs: null } }),
    tag(2, 0, "plc/pump1_run", { boolean: true, valueType: "bool", table: "coil", write: { role: "engineer", min: null, max: null, confirm: "Start pump 1?", pulseMs: null } }),
  ],
};

const ANNA: SessionView = { user: "anna", role: "operator", users: true, alarmActions: true, audit: false, idleLockS: 900, locked: null };
const SIGNED_OUT: SessionView = { ...ANNA, user: null, role: "viewer", alarmActions: false };

function plantStore(): LiveStore {
  const store = new LiveStore();
  store.setPlant(PLANT);
  store.setSnapshot([
    { i: 0, v: 1.4, q: "good", cause: null, t: 1, c: 1 },
    { i: 1, v: 1, q: "good", cause: null, t: 1, c: 1 },
    { i: 2, v: false, q: "good", cause: null, t: 1, c: 1 },
  ]);
  return store;
}

/** The screens under test with a live session the components can change, as the app holds it. */
function Window({ initial, store, children }: { initial: SessionView; store: LiveStore; children: ComponentChildren }) {
  const [session, setSession] = useState(initial);
  const services: AppServices = {
    backend,
    store,
    settings: { theme: "dark", lastScreen: "tags", operator: "typed-name", sound: false, notify: false, recentPlants: [], lastPlant: null, window: null, keyTags: [], language: null, mysteryDevice: false },
    saveSettings: () => {},
    go: () => {},
    session,
    setSession,
  };
  return <Services.Provider value={services}>{children}</Services.Provider>;
}

const done = (requested: number): WriteResult => ({
  tag: 1,
  result: "done",
  old: 1,
  requested,
  readback: requested,
  code: null,
  needed: null,
  min: null,
  max: null,
  reason: null,
  message: `plc/start_level: done (${requested})`,
  auditError: null,
});

describe("signing in", () => {
  it("signs in from the header with a name and password, and out again", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "sign_in") return ANNA;
      if (cmd === "sign_out") return SIGNED_OUT;
    });
    render(
      <Window initial={SIGNED_OUT} store={plantStore()}>
        <SessionBar />
      </Window>,
    );
    expect(screen.getByTestId("session-user").textContent).toBe("viewer");
    fireEvent.click(screen.getByTestId("sign-in"));
    fireEvent.input(screen.getByTestId("sign-in-name"), { target: { value: "anna" } });
    fireEvent.input(screen.getByTestId("sign-in-password"), { target: { value: "secret" } });
    fireEvent.submit(screen.getByTestId("sign-in-submit").closest("form")!);
    expect((await screen.findByTestId("sign-out")).textContent).toBe("Sign out");
    expect(screen.getByTestId("session-user").textContent).toBe("anna operator");
    expect(screen.queryByTestId("sign-in-dialog")).toBeNull();
    expect(calls).toContainEqual(["sign_in", { name: "anna", password: "secret" }]);

    fireEvent.click(screen.getByTestId("sign-out"));
    expect(await screen.findByTestId("sign-in")).toBeTruthy();
  });

  it("says why a sign-in failed and stays open, the password cleared", async () => {
    mockIPC((cmd) => {
      if (cmd === "sign_in") throw { code: "signInFailed", message: "wrong name or password", problems: [] };
    });
    render(
      <Window initial={SIGNED_OUT} store={plantStore()}>
        <SessionBar />
      </Window>,
    );
    fireEvent.click(screen.getByTestId("sign-in"));
    fireEvent.input(screen.getByTestId("sign-in-name"), { target: { value: "anna" } });
    fireEvent.input(screen.getByTestId("sign-in-password"), { target: { value: "wrong" } });
    fireEvent.submit(screen.getByTestId("sign-in-submit").closest("form")!);
    expect((await screen.findByTestId("sign-in-error")).textContent).toBe("wrong name or password");
    expect((screen.getByTestId("sign-in-password") as HTMLInputElement).value).toBe("");
  });

  it("shows whose session locked itself, and that a plant without users has none", () => {
    render(
      <Window initial={{ ...SIGNED_OUT, locked: "anna" }} store={plantStore()}>
        <SessionBar />
      </Window>,
    );
    expect(screen.getByTestId("session-user").textContent).toBe("anna: locked (idle)");
    cleanup();
    render(
      <Window initial={NO_SESSION} store={plantStore()}>
        <SessionBar />
      </Window>,
    );
    expect(screen.getByTestId("session-user").textContent).toBe("no users");
    expect(screen.queryByTestId("sign-in")).toBeNull();
  });
});

describe("a write control", () => {
  function writes(result: (value: unknown) => WriteResult) {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "write_tag") {
        const request = (args as { request: { value: unknown } }).request;
        sent.push(request);
        return result(request.value);
      }
      if (cmd === "session") return ANNA;
    });
    return sent;
  }

  it("asks before a change over 10 % of the range, naming tag, old and new value and unit; then shows done", async () => {
    const sent = writes((v) => done(v as number));
    render(
      <Window initial={ANNA} store={plantStore()}>
        <WriteControl tag={PLANT.tags[1]} />
      </Window>,
    );
    expect(screen.getByTestId("write-range").textContent).toBe("0.5 – 3 m");
    fireEvent.input(screen.getByTestId("write-entry"), { target: { value: "2.5" } });
    fireEvent.keyDown(screen.getByTestId("write-entry"), { key: "Enter" });
    expect(screen.getByTestId("confirm-text").textContent).toBe("Change plc/start_level from 1 m to 2.5 m?");
    expect(document.activeElement).toBe(screen.getByTestId("confirm-ok"));
    expect(sent).toEqual([]);
    fireEvent.click(screen.getByTestId("confirm-ok"));
    const result = await screen.findByTestId("write-result");
    expect(result.textContent).toBe("done: 2.5 m");
    expect(result.dataset.result).toBe("done");
    expect(sent).toEqual([{ tag: 1, value: 2.5, comment: null }]);
    expect(screen.queryByTestId("confirm-write")).toBeNull();
  });

  it("writes a small change straight away", async () => {
    const sent = writes((v) => done(v as number));
    render(
      <Window initial={ANNA} store={plantStore()}>
        <WriteControl tag={PLANT.tags[1]} />
      </Window>,
    );
    fireEvent.input(screen.getByTestId("write-entry"), { target: { value: "1.1" } });
    fireEvent.click(screen.getByTestId("write-set"));
    expect((await screen.findByTestId("write-result")).textContent).toBe("done: 1.1 m");
    expect(sent).toHaveLength(1);
  });

  it("sends nothing when the confirmation is cancelled with Escape, or the entry is out of range", () => {
    const sent = writes((v) => done(v as number));
    render(
      <Window initial={ANNA} store={plantStore()}>
        <WriteControl tag={PLANT.tags[1]} />
      </Window>,
    );
    fireEvent.input(screen.getByTestId("write-entry"), { target: { value: "2.9" } });
    fireEvent.keyDown(screen.getByTestId("write-entry"), { key: "Enter" });
    fireEvent.keyDown(screen.getByTestId("confirm-ok"), { key: "Escape" });
    expect(screen.queryByTestId("confirm-write")).toBeNull();
    fireEvent.input(screen.getByTestId("write-entry"), { target: { value: "7" } });
    fireEvent.keyDown(screen.getByTestId("write-entry"), { key: "Enter" });
    expect(screen.getByTestId("write-problem").textContent).toBe("out of range (0.5 – 3)");
    expect(sent).toEqual([]);
  });

  it("shows a mismatch with both values and a refusal with its exception", async () => {
    let next: WriteResult = { ...done(1.2), result: "mismatch", requested: 1.2, readback: 1.1 };
    writes(() => next);
    render(
      <Window initial={ANNA} store={plantStore()}>
        <WriteControl tag={PLANT.tags[1]} />
      </Window>,
    );
    fireEvent.input(screen.getByTestId("write-entry"), { target: { value: "1.2" } });
    fireEvent.click(screen.getByTestId("write-set"));
    expect((await screen.findByTestId("write-result")).textContent).toBe("mismatch: wrote 1.2 m, reads 1.1 m");
    next = { ...done(1.2), result: "refused", readback: null, code: 3 };
    fireEvent.click(screen.getByTestId("write-set"));
    await screen.findByText("refused (exception 3)");
  });

  it("confirms every boolean write, with the tag's own question", async () => {
    const sent = writes(() => ({ ...done(0), tag: 2, requested: true, readback: true, old: false }));
    render(
      <Window initial={{ ...ANNA, role: "engineer" }} store={plantStore()}>
        <WriteControl tag={PLANT.tags[2]} />
      </Window>,
    );
    fireEvent.click(screen.getByTestId("write-toggle"));
    expect(screen.getByTestId("confirm-text").textContent).toBe("Start pump 1? Change plc/pump1_run from OFF to ON?");
    fireEvent.click(screen.getByTestId("confirm-ok"));
    expect((await screen.findByTestId("write-result")).textContent).toBe("done: ON");
    expect(sent).toEqual([{ tag: 2, value: true, comment: null }]);
  });
});

describe("the tags screen", () => {
  it("offers a write control only for the tags the signed-in role may write, and none when signed out", () => {
    mockIPC(() => undefined);
    render(
      <Window initial={ANNA} store={plantStore()}>
        <Tags />
      </Window>,
    );
    const open = screen.getAllByTestId("write-open");
    expect(open.map((b) => b.getAttribute("aria-label"))).toEqual(["Write plc/start_level"]);
    fireEvent.click(open[0]);
    expect(screen.getByTestId("write-panel").textContent).toContain("plc/start_level");
    expect(screen.getAllByTestId("write-control")).toHaveLength(1);
    cleanup();
    render(
      <Window initial={SIGNED_OUT} store={plantStore()}>
        <Tags />
      </Window>,
    );
    expect(screen.queryAllByTestId("write-open")).toEqual([]);
  });
});

describe("alarm actions with users", () => {
  const row: AlarmRow = {
    id: "plc/level:hi",
    source: "plc/level",
    kind: "hi",
    priority: "high",
    state: "activeUnacked",
    message: "Level high",
    value: 2.9,
    limit: 2.8,
    since: 1000,
    changed: 1000,
    shelvedUntil: null,
    shelved: false,
    outOfService: false,
  };

  function alarmScreen(session: SessionView) {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "alarm_act") sent.push((args as { request: unknown }).request);
      if (cmd === "alarm_snapshot") return { ...NO_ALARMS, available: true, alarms: [row] };
    });
    const store = plantStore();
    store.setAlarms({ ...NO_ALARMS, available: true, alarms: [row] });
    render(
      <Window initial={session} store={store}>
        <Alarms />
      </Window>,
    );
    return sent;
  }

  it("are made under the signed-in user's name, with no name to type", async () => {
    const sent = alarmScreen(ANNA);
    expect(screen.queryByTestId("operator")).toBeNull();
    expect(screen.getByTestId("acting-user").textContent).toBe("Acting as anna");
    fireEvent.change(screen.getByLabelText(/^Select plc\/level/), { target: { checked: true } });
    fireEvent.click(screen.getByTestId("ack-selected"));
    expect((await screen.findByTestId("alarm-action-done")).textContent).toBe("Acknowledged by anna");
    expect(sent).toMatchObject([{ action: "acknowledge", ids: ["plc/level:hi"], user: "anna" }]);
  });

  it("are not offered to a viewer", () => {
    alarmScreen(SIGNED_OUT);
    expect(screen.getByTestId("acting-user").textContent).toBe("Sign in as an operator to acknowledge or shelve alarms");
    fireEvent.change(screen.getByLabelText(/^Select plc\/level/), { target: { checked: true } });
    expect((screen.getByTestId("ack-selected") as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId("ack-all") as HTMLButtonElement).disabled).toBe(true);
  });
});
