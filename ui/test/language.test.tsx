// The window's language: the system's on first start, switched in the window without a restart, saved;
// the plant's own Chinese texts preferred in Chinese; dates and numbers in the chosen locale.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../src/app";
import type { PlantInfo, Settings } from "../src/bindings/ipc";
import { DEFAULT_SETTINGS, NO_SESSION } from "../src/context";
import { formatDateTime, formatValue } from "../src/format";
import { currentLanguage, setLanguage, systemLanguage } from "../src/i18n";
import type { Backend } from "../src/ipc";
import { LiveStore, NO_ALARMS } from "../src/live";
import { alarmMessage, tagName } from "../src/plant-text";
import { device, tag } from "./fixtures";

// uPlot (imported with the trend screen) asks matchMedia for the pixel ratio when it loads; jsdom has none.
vi.hoisted(() => {
  window.matchMedia ??= ((query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} })) as never;
});

const PLANT: PlantInfo = {
  name: "Lift station",
  source: null,
  simulated: true,
  historyPath: "/tmp/p.db",
  devices: [device(0, "plc", 2, 0)],
  tags: [
    tag(0, 0, "plc/level", {
      name: "Wet well level",
      nameZh: "集水井液位",
      alarms: [
        { kind: "hi", limit: 3, priority: "high", message: "Wet well high", messageZh: "集水井液位高" },
        { kind: "lo", limit: 0.5, priority: "medium", message: "Wet well low", messageZh: null },
        { kind: "lolo", limit: 0.2, priority: "high", message: null, messageZh: null },
      ],
    }),
    tag(1, 0, "plc/flow", { name: "Flow" }),
  ],
};

/** The system's languages as the webview reports them. */
function systemSpeaks(languages: string[]) {
  Object.defineProperty(window.navigator, "languages", { get: () => languages, configurable: true });
}

/** A backend that answers what the window asks at start and records the settings it saves. */
function backendWith(settings: Settings, saved: Settings[]): Backend {
  const fake: Partial<Backend> = {
    settingsGet: async () => settings,
    settingsSet: async (s) => void saved.push(s),
    liveSubscribe: async () => {},
    plantInfo: async () => PLANT,
    liveSnapshot: async () => [],
    alarmSnapshot: async () => NO_ALARMS,
    deviceStatuses: async () => [],
    plantScreens: async () => [],
    session: async () => NO_SESSION,
  };
  return fake as Backend;
}

afterEach(async () => {
  cleanup();
  await setLanguage("en");
  systemSpeaks(["en-US"]);
});

describe("the window's language", () => {
  it("follows the system on first start: any Chinese is zh-CN, anything else English", () => {
    expect(systemLanguage(["zh-CN", "en"])).toBe("zh-CN");
    expect(systemLanguage(["zh-TW"])).toBe("zh-CN");
    expect(systemLanguage(["zh"])).toBe("zh-CN");
    expect(systemLanguage(["en-GB", "zh-CN"])).toBe("en");
    expect(systemLanguage(["fr-FR"])).toBe("en");
    expect(systemLanguage([])).toBe("en");
  });

  it("opens in Chinese on a Chinese system and switches to English in place, saving the choice", async () => {
    systemSpeaks(["zh-CN", "zh"]);
    const saved: Settings[] = [];
    render(<App backend={backendWith({ ...DEFAULT_SETTINGS, language: null }, saved)} store={new LiveStore()} />);
    await waitFor(() => expect(screen.getByTestId("screen-nav").textContent).toContain("总览"));
    expect(document.documentElement.lang).toBe("zh-CN");
    // Kept from the first start on, so notifications and chart exports speak it too.
    expect(saved.map((s) => s.language)).toEqual(["zh-CN"]);

    fireEvent.change(screen.getByTestId("language"), { target: { value: "en" } });
    await waitFor(() => expect(screen.getByTestId("screen-nav").textContent).toContain("Overview"));
    expect(screen.getByTestId("screen-nav").textContent).not.toContain("总览");
    expect(saved[saved.length - 1]?.language).toBe("en");
  });

  it("keeps a language chosen before over the system's", async () => {
    systemSpeaks(["en-US"]);
    render(<App backend={backendWith({ ...DEFAULT_SETTINGS, language: "zh-CN" }, [])} store={new LiveStore()} />);
    await waitFor(() => expect(screen.getByTestId("theme-toggle").textContent).toBe("浅色主题"));
    expect(currentLanguage()).toBe("zh-CN");
  });
});

describe("the plant's own texts", () => {
  it("are shown in Chinese where the plant gives them, else as written", async () => {
    const [level, flow] = PLANT.tags;
    const alarm = { source: "plc/level", kind: "hi", message: "Wet well high" };
    expect(tagName(level)).toBe("Wet well level");
    expect(alarmMessage(PLANT, alarm)).toBe("Wet well high");
    await setLanguage("zh-CN");
    expect(tagName(level)).toBe("集水井液位");
    expect(tagName(flow)).toBe("Flow");
    expect(alarmMessage(PLANT, alarm)).toBe("集水井液位高");
    // The plant's own English message without a Chinese one stays as written.
    expect(alarmMessage(PLANT, { ...alarm, kind: "lo", message: "Wet well low" })).toBe("Wet well low");
    // Without any message the alarm service wrote "NAME LOLO": in Chinese, the name and the kind.
    expect(alarmMessage(PLANT, { ...alarm, kind: "lolo", message: "Wet well level LOLO" })).toBe("集水井液位 低低限");
    // A device's communication alarm.
    expect(alarmMessage(PLANT, { source: "plc", kind: "comm", message: "PLC offline" })).toBe("PLC 离线");
  });
});

describe("formats", () => {
  it("write dates and on/off in the chosen language, numbers as the plant shows them", async () => {
    const at = new Date(2026, 11, 3, 14, 3, 5).getTime();
    const english = formatDateTime(at);
    expect(english).toContain("14:03:05");
    expect(formatValue({ i: 0, v: true, q: "good", cause: null, t: 0, c: 0 })).toBe("ON");
    await setLanguage("zh-CN");
    expect(formatDateTime(at)).toContain("14:03:05");
    expect(formatDateTime(at)).toContain("2026");
    expect(formatDateTime(at)).not.toBe(english);
    expect(formatValue({ i: 0, v: true, q: "good", cause: null, t: 0, c: 0 })).toBe("开");
    expect(formatValue({ i: 0, v: 1234.56, q: "good", cause: null, t: 0, c: 0 })).toBe("1234.6");
  });
});
