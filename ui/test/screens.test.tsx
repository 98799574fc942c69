import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { AlarmActionRequest, AlarmRow, PlantInfo } from "../src/bindings/ipc";
import { AlarmBanner } from "../src/components/AlarmBanner";
import { visibleRange } from "../src/components/VirtualList";
import { NO_SESSION, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore, NO_ALARMS } from "../src/live";
import { Alarms, sortAlarms } from "../src/screens/Alarms";
import { linesWithProblems } from "../src/screens/PlantFiles";
import { filterTags, Tags } from "../src/screens/Tags";
import { bigPlant } from "./fixtures";

afterEach(cleanup);

function services(store: LiveStore): AppServices {
  return {
    backend,
    store,
    settings: { theme: "dark", lastScreen: "tags", operator: "ann", sound: false, notify: false, recentPlants: [], lastPlant: null, window: null, keyTags: [], language: null, mysteryDevice: false },
    saveSettings: () => {},
    go: () => {},
    session: NO_SESSION,
    setSession: () => {},
  };
}

function withStore(plant: PlantInfo) {
  const store = new LiveStore();
  store.setPlant(plant);
  return store;
}

describe("the tags screen", () => {
  it("lists 10,000 tags but renders only the rows in view", () => {
    const store = withStore(bigPlant(10, 1000));
    render(
      <Services.Provider value={services(store)}>
        <Tags />
      </Services.Provider>,
    );
    expect(screen.getByTestId("tag-count").textContent).toBe("10000 of 10000 tags");
    const rows = screen.getAllByTestId("tag-row");
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
  });

  it("filters by search text and by device", () => {
    const store = withStore(bigPlant(10, 1000));
    render(
      <Services.Provider value={services(store)}>
        <Tags />
      </Services.Provider>,
    );
    fireEvent.input(screen.getByTestId("tag-search"), { target: { value: "dev3/tag99" } });
    // dev3/tag99, dev3/tag990 .. dev3/tag999
    expect(screen.getByTestId("tag-count").textContent).toBe("11 of 10000 tags");
    fireEvent.input(screen.getByTestId("tag-search"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("device-filter"), { target: { value: "7" } });
    expect(screen.getByTestId("tag-count").textContent).toBe("1000 of 10000 tags");
    for (const row of screen.getAllByTestId("tag-row")) expect(row.dataset.tag?.startsWith("dev7/")).toBe(true);
  });

  it("shows bad and stale values apart, with the cause on hover", () => {
    const store = withStore(bigPlant(1, 3));
    store.setSnapshot([
      { i: 0, v: 1.5, q: "good", cause: null, t: 1, c: 1 },
      { i: 1, v: 2.5, q: "uncertain", cause: { kind: "stale" }, t: 1, c: 1 },
      { i: 2, v: null, q: "bad", cause: { kind: "exception", code: 2, name: "illegal data address" }, t: 1, c: 1 },
    ]);
    render(
      <Services.Provider value={services(store)}>
        <Tags />
      </Services.Provider>,
    );
    const q = screen.getAllByTestId("tag-quality");
    expect(q.map((e) => e.textContent)).toEqual(["good", "STALE", "BAD"]);
    expect(q[1].className).toContain("q-uncertain");
    expect(q[2].className).toContain("q-bad");
    expect(q[2].getAttribute("title")).toBe("Modbus exception 02: illegal data address");
  });

  it("filters fast enough for typing with 10,000 tags", () => {
    const plant = bigPlant(10, 1000);
    const started = performance.now();
    for (const text of ["d", "de", "dev", "dev5", "dev5/", "dev5/t", "dev5/ta", "dev5/tag1"]) filterTags(plant, text, -1);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe("the virtual list", () => {
  it("renders the rows in view plus a few around them", () => {
    expect(visibleRange(0, 400, 40, 10_000)).toEqual({ first: 0, last: 18 });
    expect(visibleRange(4000, 400, 40, 10_000)).toEqual({ first: 92, last: 118 });
    expect(visibleRange(399_600, 400, 40, 10_000).last).toBe(10_000);
  });
});

const alarm = (id: string, priority: AlarmRow["priority"], since: number, state: AlarmRow["state"] = "activeUnacked"): AlarmRow => ({
  id,
  source: id.split(":")[0],
  kind: "hi",
  priority,
  state,
  message: `${id} message`,
  value: 1,
  limit: 0.5,
  since,
  changed: since,
  shelvedUntil: null,
  shelved: false,
  outOfService: false,
});

describe("alarms", () => {
  it("sorts by priority, then newest first", () => {
    const sorted = sortAlarms([alarm("a", "low", 5), alarm("b", "critical", 1), alarm("c", "critical", 3), alarm("d", "high", 9)]);
    expect(sorted.map((a) => a.id)).toEqual(["c", "b", "d", "a"]);
  });

  it("the banner shows counts by priority and the newest unacknowledged alarm", () => {
    const store = withStore(bigPlant(1, 1));
    const newest = alarm("plc/h2s:hi", "high", Date.now());
    store.setAlarms({ ...NO_ALARMS, available: true, counts: { critical: 1, high: 2, medium: 0, low: 0 }, unacknowledged: 3, newest });
    render(
      <Services.Provider value={services(store)}>
        <AlarmBanner />
      </Services.Provider>,
    );
    expect(screen.getByTestId("count-critical").textContent).toBe("C 1");
    expect(screen.getByTestId("count-high").textContent).toBe("H 2");
    expect(screen.getByTestId("count-low").className).toContain("zero");
    expect(screen.getByTestId("newest-alarm").textContent).toContain("plc/h2s · plc/h2s:hi message");
  });
});

describe("the shelve form", () => {
  /** The alarm screen on one active high alarm, with a backend that records the actions it is sent. */
  function shelveScreen() {
    const store = withStore(bigPlant(1, 1));
    const view = { ...NO_ALARMS, available: true, alarms: [alarm("plc/level:hi", "high", 1000)] };
    store.setAlarms(view);
    const sent: AlarmActionRequest[] = [];
    const recording = {
      ...backend,
      alarmAct: async (request: AlarmActionRequest) => {
        sent.push(request);
      },
      alarmSnapshot: async () => view,
    };
    render(
      <Services.Provider value={{ ...services(store), backend: recording }}>
        <Alarms />
      </Services.Provider>,
    );
    fireEvent.change(screen.getByLabelText(/^Select plc\/level/), { target: { checked: true } });
    return sent;
  }

  it("does not shelve without a reason and says so next to the field", async () => {
    const sent = shelveScreen();
    for (const blank of ["", "   "]) {
      fireEvent.input(screen.getByTestId("shelve-reason"), { target: { value: blank } });
      fireEvent.click(screen.getByTestId("shelve"));
      await Promise.resolve();
      expect(screen.getByTestId("shelve-reason-error").textContent).toContain("reason");
      expect(screen.getByTestId("shelve-reason").getAttribute("aria-invalid")).toBe("true");
    }
    expect(sent).toEqual([]);
  });

  it("sends the trimmed reason as the shelve's comment", async () => {
    const sent = shelveScreen();
    fireEvent.input(screen.getByTestId("shelve-reason"), { target: { value: "  float stuck  " } });
    fireEvent.click(screen.getByTestId("shelve"));
    await screen.findByTestId("alarm-action-done");
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ action: "shelve", ids: ["plc/level:hi"], comment: "float stuck", shelveMinutes: 60 });
    expect(screen.queryByTestId("shelve-reason-error")).toBeNull();
  });
});

describe("plant file problems", () => {
  it("are attached to their lines, problems past the end to the last line", () => {
    const lines = linesWithProblems("a = 1\nb = 2\n", [
      { line: 2, col: 5, message: "bad b" },
      { line: 9, col: 1, message: "late" },
    ]);
    expect(lines.map((l) => l.problems.map((p) => p.message))).toEqual([[], ["bad b"], ["late"]]);
  });
});
