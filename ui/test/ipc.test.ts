import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { asUiError, backend } from "../src/ipc";

afterEach(() => clearMocks());

describe("commands", () => {
  it("pass their arguments by name", async () => {
    let seen: unknown = null;
    mockIPC((cmd, args) => {
      if (cmd === "open_plant") {
        seen = args;
        return { name: "P", source: "/p.toml", simulated: false, historyPath: "/p.db", devices: [], tags: [] };
      }
    });
    const info = await backend.openPlant("/p.toml");
    expect(info.name).toBe("P");
    expect(seen).toEqual({ path: "/p.toml" });
  });

  it("reject with the backend's code and message", async () => {
    mockIPC(() => {
      throw { code: "configInvalid", message: "the plant file has a problem", problems: [{ line: 3, col: 1, message: "x" }] };
    });
    await expect(backend.reloadPlant()).rejects.toEqual({
      code: "configInvalid",
      message: "the plant file has a problem",
      problems: [{ line: 3, col: 1, message: "x" }],
    });
  });

  it("turn anything else thrown into an engine error", () => {
    expect(asUiError("boom")).toEqual({ code: "engine", message: "boom", problems: [] });
  });
});
