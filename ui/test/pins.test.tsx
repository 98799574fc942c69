// Key tags chosen in the window: a star on each Tags row pins the tag to the Overview or takes it off,
// and the choice is saved in the settings (issue 14's small things).
import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { Settings } from "../src/bindings/ipc";
import { DEFAULT_SETTINGS, Services } from "../src/context";
import { LiveStore } from "../src/live";
import { keyTags, MAX_KEY_TAGS, togglePin } from "../src/screens/Overview";
import { Tags } from "../src/screens/Tags";
import { plant, testServices } from "./fixtures";

afterEach(cleanup);

const PLANT = plant(12);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `plc/t${i}`);

describe("pinning key tags", () => {
  it("starts from the tags the Overview picked, adds and removes one, and refuses a ninth", () => {
    expect(keyTags(PLANT, []).map((t) => t.id)).toEqual(ids(8));
    expect(togglePin(PLANT, [], "plc/t3")).toEqual(ids(8).filter((id) => id !== "plc/t3"));
    expect(togglePin(PLANT, ["plc/t1"], "plc/t9")).toEqual(["plc/t1", "plc/t9"]);
    expect(togglePin(PLANT, ["plc/t1", "plc/t9"], "plc/t1")).toEqual(["plc/t9"]);
    expect(togglePin(PLANT, [], "plc/t10")).toBeNull();
    expect(MAX_KEY_TAGS).toBe(8);
  });

  it("saves the choice from the Tags screen's star", () => {
    const saved: Partial<Settings>[] = [];
    const store = new LiveStore();
    store.setPlant(PLANT);
    const services = testServices({
      store,
      settings: { ...DEFAULT_SETTINGS, keyTags: ["plc/t1"] },
      saveSettings: (patch) => void saved.push(patch),
    });
    render(
      <Services.Provider value={services}>
        <Tags />
      </Services.Provider>,
    );
    const star = (id: string) => screen.getAllByTestId("pin").find((b) => b.closest("[data-tag]")?.getAttribute("data-tag") === id)!;
    expect(star("plc/t1").getAttribute("aria-pressed")).toBe("true");
    expect(star("plc/t2").getAttribute("aria-pressed")).toBe("false");
    expect(star("plc/t2").getAttribute("aria-label")).toBe("Show plc/t2 on the Overview");
    fireEvent.click(star("plc/t2"));
    fireEvent.click(star("plc/t1"));
    expect(saved).toEqual([{ keyTags: ["plc/t1", "plc/t2"] }, { keyTags: [] }]);
  });
});
