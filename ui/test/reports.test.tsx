import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { ReportPreview, ReportRequest } from "../src/bindings/ipc";
import { NO_SESSION, Services, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore } from "../src/live";
import { localInput, Reports } from "../src/screens/Reports";

afterEach(() => {
  cleanup();
  clearMocks();
});

const HOUR = 3_600_000;

const preview: ReportPreview = {
  title: "Shift report",
  heading: ["Period: 2026-12-04 06:00:00 – 2026-12-04 14:00:00 UTC", "Template: shift"],
  tables: [
    {
      title: "Statistics",
      header: ["Tag", "Min", "Max"],
      rows: [
        ["plc/level", "1.2", "3.4"],
        ["plc/flow", "0", "12.5"],
      ],
      notes: ["plc/flow: mostly gap"],
    },
    { title: "Gaps", header: ["Tag", "From", "To", "Cause"], rows: [["plc/flow", "06:10", "09:00", "bad: comm_lost"]], notes: [] },
  ],
  charts: [{ title: "plc", svg: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text x="1" y="9">plc &amp; co</text></svg>' }],
};

function services(): AppServices {
  return {
    backend,
    store: new LiveStore(),
    settings: { theme: "dark", lastScreen: "reports", operator: "ann", sound: false, notify: false, recentPlants: [], lastPlant: null, window: null, keyTags: [], language: null, mysteryDevice: false },
    saveSettings: () => {},
    go: () => {},
    session: NO_SESSION,
    setSession: () => {},
  };
}

function mount() {
  render(
    <Services.Provider value={services()}>
      <Reports />
    </Services.Provider>,
  );
}

describe("the reports screen", () => {
  it("offers the backend's templates and previews the last 8 hours of the chosen one", async () => {
    let asked: ReportRequest | null = null;
    mockIPC((cmd, args) => {
      if (cmd === "report_templates")
        return [
          { id: "shift", builtin: true, label: "shift" },
          { id: "daily", builtin: true, label: "daily" },
          { id: "/plant/pumps.toml", builtin: false, label: "pumps" },
        ];
      if (cmd === "preview_report") {
        asked = (args as { request: ReportRequest }).request;
        return preview;
      }
    });
    mount();
    const select = (await screen.findByLabelText("Report template")) as HTMLSelectElement;
    await waitFor(() => expect(select.options).toHaveLength(3));
    expect([...select.options].map((o) => o.textContent)).toEqual(["Shift report (every tag)", "Daily report (every tag)", "pumps"]);
    fireEvent.change(select, { target: { value: "/plant/pumps.toml" } });
    fireEvent.click(screen.getByTestId("report-preview"));

    const tables = await screen.findAllByTestId("report-table");
    expect(tables).toHaveLength(2);
    expect(tables[0].querySelectorAll("tbody tr")).toHaveLength(2);
    expect(screen.getByText("plc/flow: mostly gap")).toBeTruthy();
    expect(screen.getByText("bad: comm_lost")).toBeTruthy();
    // The chart is the report's SVG as an image, its text intact.
    const chart = screen.getByTestId("report-chart") as HTMLImageElement;
    expect(decodeURIComponent(chart.src.split(",")[1])).toContain("plc &amp; co");

    expect(asked).not.toBeNull();
    expect(asked!.template).toBe("/plant/pumps.toml");
    expect(asked!.to - asked!.from).toBe(8 * HOUR);
  });

  it("saves a chosen period in the chosen format and says where", async () => {
    let saved: { request: ReportRequest; format: string } | null = null;
    mockIPC((cmd, args) => {
      if (cmd === "report_templates") return [{ id: "shift", builtin: true, label: "shift" }];
      if (cmd === "save_report") {
        saved = args as { request: ReportRequest; format: string };
        return "/home/ann/Plantwatch/report-shift-1.xlsx";
      }
    });
    mount();
    fireEvent.change(await screen.findByLabelText("Report period"), { target: { value: "custom" } });
    const from = new Date(2026, 11, 3, 22, 0).getTime();
    const to = new Date(2026, 11, 4, 6, 0).getTime();
    fireEvent.input(screen.getByLabelText("From"), { target: { value: localInput(from) } });
    fireEvent.input(screen.getByLabelText("To"), { target: { value: localInput(to) } });
    fireEvent.click(screen.getByTestId("report-save-xlsx"));

    const status = await screen.findByTestId("report-status");
    expect(status.textContent).toBe("Saved XLSX to /home/ann/Plantwatch/report-shift-1.xlsx");
    expect(saved).not.toBeNull();
    expect(saved!.format).toBe("xlsx");
    expect(saved!.request).toEqual({ template: "shift", from, to });
  });

  it("refuses a custom period that ends before it starts, without asking the backend", async () => {
    let asked = false;
    mockIPC((cmd) => {
      if (cmd === "report_templates") return [{ id: "shift", builtin: true, label: "shift" }];
      if (cmd === "preview_report") asked = true;
    });
    mount();
    fireEvent.change(await screen.findByLabelText("Report period"), { target: { value: "custom" } });
    fireEvent.input(screen.getByLabelText("From"), { target: { value: "2026-12-04T06:00" } });
    fireEvent.input(screen.getByLabelText("To"), { target: { value: "2026-12-04T05:00" } });
    fireEvent.click(screen.getByTestId("report-preview"));
    expect((await screen.findByRole("alert")).textContent).toBe("The period must end after it starts.");
    expect(asked).toBe(false);
  });
});
