// Plant files: the native open dialog (a Rust command) picks a file, which is then opened; cancelling
// opens nothing. The backend is Tauri's IPC, mocked with mockIPC.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { Services } from "../src/context";
import { PlantFiles } from "../src/screens/PlantFiles";
import { plant, testServices } from "./fixtures";

afterEach(() => {
  cleanup();
  clearMocks();
});

function shown(opened: string[]) {
  const services = testServices();
  render(
    <Services.Provider value={services}>
      <PlantFiles onOpened={(p) => opened.push(p.name)} />
    </Services.Provider>,
  );
}

describe("the open dialog", () => {
  it("opens the plant file chosen in it", async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "pick_plant_file") return "/plants/lift4.toml";
      if (cmd === "open_plant") {
        asked.push(args);
        return plant(3);
      }
    });
    const opened: string[] = [];
    shown(opened);
    fireEvent.click(screen.getByTestId("browse-plant"));
    await waitFor(() => expect(opened).toEqual(["Test plant"]));
    expect(asked).toEqual([{ path: "/plants/lift4.toml" }]);
    expect((screen.getByTestId("plant-path") as HTMLInputElement).value).toBe("/plants/lift4.toml");
  });

  it("opens nothing when the dialog is cancelled", async () => {
    const commands: string[] = [];
    mockIPC((cmd) => {
      commands.push(cmd);
      return null;
    });
    const opened: string[] = [];
    shown(opened);
    fireEvent.click(screen.getByTestId("browse-plant"));
    await waitFor(() => expect(commands).toContain("pick_plant_file"));
    expect(commands).not.toContain("open_plant");
    expect(opened).toEqual([]);
  });
});
