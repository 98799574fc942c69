// The small things a new user reaches for (issue 14): the plant menu in the header (the system's open
// dialog, recent plants, the simulated plant) and pinning tags on the Overview from the Tags screen.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { PlantInfo, Settings } from "../src/bindings/ipc";
import { PlantMenu } from "../src/components/PlantMenu";
import { NO_SESSION, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore } from "../src/live";
import { KEY_TAGS_MAX } from "../src/screens/Overview";
import { Tags } from "../src/screens/Tags";
import { bigPlant } from "./fixtures";

afterEach(cleanup);

const SETTINGS: Settings = {
  theme: "dark",
  lastScreen: "tags",
  operator: "ann",
  sound: false,
  notify: false,
  recentPlants: ["/plants/lift4.toml", "/plants/boiler.toml"],
  lastPlant: "/plants/lift4.toml",
  window: null,
  keyTags: [],
  language: null,
};

/** Services whose backend records what the page asked of it. */
function services(settings: Settings, calls: string[], patches: Partial<Settings>[] = []): AppServices {
  const plant = bigPlant(1, 3);
  const store = new LiveStore();
  store.setPlant(plant);
  return {
    backend: {
      ...backend,
      openPlant: async (path: string | null) => {
        calls.push(`open ${path}`);
        return plant;
      },
      pickPlantFile: async (title: string, filter: string) => {
        calls.push(`pick "${title}" "${filter}"`);
        return "/plants/picked.toml";
      },
    },
    store,
    settings,
    saveSettings: (patch) => patches.push(patch),
    go: (screen) => calls.push(`go ${screen}`),
    session: NO_SESSION,
    setSession: () => {},
  };
}

describe("the plant menu", () => {
  it("opens a recent plant, the simulated plant, or a file chosen in the system's dialog", async () => {
    const calls: string[] = [];
    const opened: PlantInfo[] = [];
    render(
      <Services.Provider value={services(SETTINGS, calls)}>
        <PlantMenu onOpened={(p) => opened.push(p)} onError={(e) => calls.push(`error ${e.message}`)} />
      </Services.Provider>,
    );
    const recent = screen.getAllByTestId("menu-recent");
    expect(recent.map((b) => b.textContent)).toEqual(["lift4.toml", "boiler.toml"]);
    expect(recent[1].getAttribute("title")).toBe("/plants/boiler.toml");
    fireEvent.click(recent[1]);
    fireEvent.click(screen.getByTestId("menu-simulated"));
    fireEvent.click(screen.getByTestId("menu-open"));
    await waitFor(() => expect(opened.length).toBe(3));
    expect(calls).toEqual([
      "open /plants/boiler.toml",
      "open null",
      'pick "Open a plant file" "Plant files (*.toml)"',
      "open /plants/picked.toml",
    ]);
  });

  it("opens nothing when the dialog is cancelled", async () => {
    const calls: string[] = [];
    const s = services({ ...SETTINGS, recentPlants: [] }, calls);
    s.backend = { ...s.backend, pickPlantFile: async () => (calls.push("pick"), null) };
    render(
      <Services.Provider value={s}>
        <PlantMenu onOpened={() => calls.push("opened")} onError={() => calls.push("error")} />
      </Services.Provider>,
    );
    expect(screen.queryAllByTestId("menu-recent")).toEqual([]);
    fireEvent.click(screen.getByTestId("menu-open"));
    await waitFor(() => expect(calls).toEqual(["pick"]));
  });
});

describe("pinning tags on the Overview", () => {
  it("pins an unpinned tag after the pinned ones and unpins a pinned one", () => {
    const patches: Partial<Settings>[] = [];
    render(
      <Services.Provider value={services({ ...SETTINGS, keyTags: ["dev0/tag2"] }, [], patches)}>
        <Tags />
      </Services.Provider>,
    );
    const pins = screen.getAllByTestId("tag-pin");
    expect(pins.map((p) => p.getAttribute("aria-pressed"))).toEqual(["false", "false", "true"]);
    expect(pins[0].getAttribute("aria-label")).toBe("Show dev0/tag0 on the Overview");
    fireEvent.click(pins[0]);
    fireEvent.click(pins[2]);
    expect(patches).toEqual([{ keyTags: ["dev0/tag2", "dev0/tag0"] }, { keyTags: [] }]);
  });

  it("takes no more tags once the Overview is full, but still unpins", () => {
    const full = Array.from({ length: KEY_TAGS_MAX }, (_, i) => `other/t${i}`).concat(["dev0/tag1"]).slice(1);
    const patches: Partial<Settings>[] = [];
    render(
      <Services.Provider value={services({ ...SETTINGS, keyTags: full }, [], patches)}>
        <Tags />
      </Services.Provider>,
    );
    const pins = screen.getAllByTestId("tag-pin") as HTMLButtonElement[];
    expect(pins[0].disabled).toBe(true);
    expect(pins[0].getAttribute("title")).toBe(`The Overview shows at most ${KEY_TAGS_MAX} tags: unpin one first`);
    expect(pins[1].disabled).toBe(false);
    fireEvent.click(pins[1]);
    expect(patches).toEqual([{ keyTags: full.filter((id) => id !== "dev0/tag1") }]);
  });
});
