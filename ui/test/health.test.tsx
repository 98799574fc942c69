import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { AlarmHealth } from "../src/bindings/ipc";
import { NO_SESSION, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore } from "../src/live";
import { Health } from "../src/screens/Health";

afterEach(() => {
  cleanup();
  clearMocks();
});

const T = Date.UTC(2026, 10, 25, 14, 0);
const MIN = 60_000;

const report = (from: number, to: number): AlarmHealth => ({
  from,
  to,
  activations: 14,
  averagePer10Minutes: 0.29,
  busiest: { start: T, alarms: 12 },
  per10Minutes: [
    { start: T, alarms: 12 },
    { start: T + 10 * MIN, alarms: 0 },
    { start: T + 20 * MIN, alarms: 2 },
  ],
  floods: [{ start: T + MIN, end: T + 9 * MIN, alarms: 12, peak: 12 }],
  chattering: [{ alarm: "plc/level:hi", mostPerMinute: 4, activations: 5, first: T + 2 * MIN }],
  mostFrequent: [
    { alarm: "plc/level:hi", priority: "high", activations: 5 },
    { alarm: "plc/h2s:hihi", priority: "critical", activations: 1 },
  ],
});

function services(): AppServices {
  return {
    backend,
    store: new LiveStore(),
    settings: { theme: "dark", lastScreen: "health", operator: "ann", sound: false, notify: false, recentPlants: [], lastPlant: null, window: null, keyTags: [], language: null, mysteryDevice: false },
    saveSettings: () => {},
    go: () => {},
    session: NO_SESSION,
    setSession: () => {},
  };
}

describe("the alarm health screen", () => {
  it("asks for the last shift and shows floods, chattering and frequent alarms", async () => {
    let asked: { from: number; to: number } | null = null;
    mockIPC((cmd, args) => {
      if (cmd === "alarm_health") {
        asked = args as { from: number; to: number };
        return report(asked.from, asked.to);
      }
    });
    render(
      <Services.Provider value={services()}>
        <Health />
      </Services.Provider>,
    );

    const floods = await screen.findAllByTestId("health-flood");
    expect(floods).toHaveLength(1);
    expect(floods[0].textContent).toContain("12");
    expect(screen.getByText("Floods (10 or more alarms in 10 minutes): 1")).toBeTruthy();

    const chatter = screen.getAllByTestId("health-chatter");
    expect(chatter).toHaveLength(1);
    expect(chatter[0].textContent).toContain("plc/level:hi");
    expect(chatter[0].textContent).toContain("4");

    expect(screen.getAllByTestId("health-frequent").map((r) => r.firstElementChild?.textContent)).toEqual([
      "plc/level:hi",
      "plc/h2s:hihi",
    ]);
    // Periods without alarms are left out of the rate list.
    expect(screen.getAllByTestId("health-period")).toHaveLength(2);
    expect(screen.getByTestId("health-summary").textContent).toContain("14 alarms");

    expect(asked).not.toBeNull();
    expect(asked!.to - asked!.from).toBe(8 * 60 * MIN);
  });
});
