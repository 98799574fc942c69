// The header's plant menu (issue 14): the system's open dialog, the recent plants, the simulated plant.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { PlantInfo, Settings } from "../src/bindings/ipc";
import { PlantMenu } from "../src/components/PlantMenu";
import { DEFAULT_SETTINGS, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore } from "../src/live";
import { bigPlant, testServices } from "./fixtures";

afterEach(cleanup);

const SETTINGS: Settings = {
  ...DEFAULT_SETTINGS,
  recentPlants: ["/plants/lift4.toml", "/plants/boiler.toml"],
  lastPlant: "/plants/lift4.toml",
};

/** Services whose backend records what the page asked of it. */
function services(settings: Settings, calls: string[]): AppServices {
  const plant = bigPlant(1, 3);
  const store = new LiveStore();
  store.setPlant(plant);
  return testServices({
    backend: {
      ...backend,
      openPlant: async (path: string | null) => {
        calls.push(`open ${path}`);
        return plant;
      },
      pickPlantFile: async () => {
        calls.push("pick");
        return "/plants/picked.toml";
      },
    },
    store,
    settings,
    go: (screen) => calls.push(`go ${screen}`),
  });
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
      "pick",
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
