// The commissioning workbench: the traffic filter, the link texts, the register grid with every word
// order side by side, and the promote form that turns a register into a tag of the plant file. The
// backend is Tauri's IPC, mocked with mockIPC.
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import type { Channel } from "@tauri-apps/api/core";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type {
  Decoded,
  FrameView,
  GridRequest,
  GridView,
  LinkSpec,
  NumberType,
  PlantInfo,
  PromoteRequest,
  RangeScanRequest,
  ScanEvent,
  SessionView,
  TableName,
  UiError,
} from "../src/bindings/ipc";
import { linkText, portLabel } from "../src/components/workbench/LinkForm";
import { deviceOn, idFrom, PromoteForm, type Draft } from "../src/components/workbench/PromoteForm";
import { hex16, i16, RegisterGrid, type GridWindow } from "../src/components/workbench/RegisterGrid";
import { frameMatches, TrafficPanel } from "../src/components/workbench/TrafficPanel";
import { NO_SESSION, Services } from "../src/context";
import { LiveStore } from "../src/live";
import { draftOf, Workbench } from "../src/screens/Workbench";
import { device, tag, testServices } from "./fixtures";

afterEach(() => {
  cleanup();
  clearMocks();
});

// ---- A small lift station and the mystery device beside it ------------------------------------------

/** The plant's PLC is unit 7 on tcp://127.0.0.1:5020; its pump drive, unit 2 behind the same gateway. */
const PLC_LINK: LinkSpec = { kind: "tcp", host: "127.0.0.1", port: 5020 };
const PLC_UNIT = 7;

const LIFT: PlantInfo = {
  name: "Lift station",
  source: "/plants/lift.toml",
  simulated: false,
  historyPath: "/tmp/lift.db",
  devices: [{ ...device(0, "plc", 1, 0), unit: PLC_UNIT }, device(1, "vfd", 0, 1)],
  tags: [tag(0, 0, "plc/level", { unit: "m", valueType: "f32" })],
};

/** The plant as the Rust side returns it after a promote: one tag more. */
const LIFT_AFTER: PlantInfo = { ...LIFT, tags: [...LIFT.tags, tag(1, 0, "plc/wet_well_level", { unit: "m", valueType: "f32", address: 3 })] };

const ENGINEER: SessionView = { ...NO_SESSION, user: "erik", role: "engineer", users: true };

function storeWith(plant: PlantInfo | null): LiveStore {
  const store = new LiveStore();
  if (plant) store.setPlant(plant);
  return store;
}

// ---- Registers 0-4 of holding: 231.5 as an f32 in CDAB order at register 3 -------------------------
//
// 231.5 is 0x4367_8000. In CDAB the low word comes first: register 3 = 0x8000, register 4 = 0x4367.
// Read as ABCD the same pair is 0x8000_4367, a negative denormal: not a reading any device sends.

function dec(address: number, number: NumberType, pattern: string, text: string, plausible: boolean, wordOrder: string | null = pattern): Decoded {
  return { address, number, pattern, wordOrder, text, plausible };
}

const f32s = (address: number, texts: [string, boolean][]): Decoded[] =>
  ["ABCD", "CDAB", "BADC", "DCBA"].map((o, i) => dec(address, "f32", o, texts[i][0], texts[i][1]));

const RAW = [0x0001, 0x2e52, 0xffff, 0x8000, 0x4367];

/** Register 3's every reading when it is the selected one. */
const SELECTED_3: Decoded[] = [
  ...f32s(3, [
    ["-2.4e-41", false],
    ["231.5", true],
    ["1.2e-41", false],
    ["-3.1e24", false],
  ]),
  dec(3, "u32", "ABCD", "2147501927", false),
  dec(3, "u32", "CDAB", "1130856448", false),
  dec(3, "f64", "GHEFCDAB", "6.0e-310", false, null),
];

function gridView(request: GridRequest): GridView {
  const rows = RAW.slice(request.address, request.address + request.count).map((raw, i, all) => {
    const address = request.address + i;
    const last = i === all.length - 1;
    const f32 = last
      ? []
      : address === 3
        ? SELECTED_3.filter((d) => d.number === "f32")
        : f32s(address, [
            ["1.0e-40", false],
            ["2.0e-40", false],
            ["3.0e-40", false],
            ["4.0e-40", false],
          ]);
    return { address, raw, f32 };
  });
  return { rows, selected: request.selected === 3 ? SELECTED_3 : [], latencyMs: 4.2, at: Date.UTC(2026, 10, 25, 14, 0) };
}

/** Answers the grid reads like a device with registers 0-4, and keeps the requests sent. */
function deviceAnswering(reads: GridRequest[], other: (cmd: string, args: unknown) => unknown = () => undefined) {
  mockIPC((cmd, args) => {
    if (cmd === "workbench_read") {
      const request = (args as { request: GridRequest }).request;
      reads.push(request);
      return gridView(request);
    }
    if (cmd === "workbench_traffic") return { enabled: false, frames: [], dropped: 0 };
    return other(cmd, args);
  });
}

// ---- Frames on the wire -------------------------------------------------------------------------------

let seq = 0;
function frame(extra: Partial<FrameView>): FrameView {
  seq += 1;
  return {
    seq,
    at: Date.UTC(2026, 10, 25, 14, 0, 0, seq),
    link: "tcp://127.0.0.1:5020",
    request: true,
    unit: 1,
    function: 3,
    address: 0,
    count: 10,
    exception: null,
    latencyMs: null,
    hex: "00 01 00 00 00 06 01 03 00 00 00 0A",
    crcOk: null,
    ...extra,
  };
}

const READ_UNIT_3 = frame({ unit: 3, address: 100, hex: "00 02 00 00 00 06 03 03 00 64 00 02" });
const READ_UNIT_37 = frame({ unit: 37, address: 0, hex: "00 03 00 00 00 06 25 03 00 00 00 14" });
const ANSWER_UNIT_37 = frame({ unit: 37, request: false, address: null, count: null, latencyMs: 3.1, hex: "00 03 00 00 00 05 25 03 02 2E 52" });
const REFUSED_UNIT_37 = frame({ unit: 37, request: false, function: 3, address: null, count: null, exception: 2, hex: "00 04 00 00 00 03 25 83 02" });
const COIL_WRITE_RTU = frame({ link: "rtu:/dev/ttyUSB0 19200 8E1", unit: 5, function: 5, address: 12, count: 1, hex: "05 05 00 0C FF 00 4D BE", crcOk: true });
const FRAMES = [READ_UNIT_3, READ_UNIT_37, ANSWER_UNIT_37, REFUSED_UNIT_37, COIL_WRITE_RTU];

const kept = (filter: string) => FRAMES.filter((f) => frameMatches(f, filter));

// =========================================================================================================

describe("the traffic filter", () => {
  it("keeps every frame when the filter is empty or only blanks", () => {
    expect(kept("")).toEqual(FRAMES);
    expect(kept("   ")).toEqual(FRAMES);
  });

  it("unit=3 keeps unit 3's frames and not those of unit 37", () => {
    expect(kept("unit=3")).toEqual([READ_UNIT_3]);
    expect(kept("unit=37")).toEqual([READ_UNIT_37, ANSWER_UNIT_37, REFUSED_UNIT_37]);
  });

  it("fc=, addr= and ex= match the function code, the first address and the exception exactly", () => {
    expect(kept("fc=5")).toEqual([COIL_WRITE_RTU]);
    expect(kept("fc=3")).toEqual([READ_UNIT_3, READ_UNIT_37, ANSWER_UNIT_37, REFUSED_UNIT_37]);
    expect(kept("addr=100")).toEqual([READ_UNIT_3]);
    expect(kept("addr=10")).toEqual([]);
    // Responses carry no address: addr=0 finds only the request that asked for register 0.
    expect(kept("addr=0")).toEqual([READ_UNIT_37]);
    expect(kept("ex=2")).toEqual([REFUSED_UNIT_37]);
    expect(kept("ex=1")).toEqual([]);
  });

  it("req and rsp keep one direction of the conversation", () => {
    expect(kept("rsp")).toEqual([ANSWER_UNIT_37, REFUSED_UNIT_37]);
    expect(kept("req")).toEqual([READ_UNIT_3, READ_UNIT_37, COIL_WRITE_RTU]);
  });

  it("other words are looked for in the link and the bytes, whatever their case", () => {
    expect(kept("ttyusb0")).toEqual([COIL_WRITE_RTU]);
    expect(kept("FF 00")).toEqual([COIL_WRITE_RTU]);
    expect(kept("2e 52")).toEqual([ANSWER_UNIT_37]);
    expect(kept("2E52")).toEqual([]);
  });

  it("every word must match: unit=37 rsp ex=2 keeps only the refused answer", () => {
    expect(kept("unit=37 rsp")).toEqual([ANSWER_UNIT_37, REFUSED_UNIT_37]);
    expect(kept("UNIT=37  rsp   ex=2")).toEqual([REFUSED_UNIT_37]);
    expect(kept("unit=3 rsp")).toEqual([]);
  });

  it("a key=value word the filter does not know matches nothing, even when its value is in the bytes", () => {
    expect(kept("port=5020")).toEqual([]);
    expect(kept("5020")).toEqual([READ_UNIT_3, READ_UNIT_37, ANSWER_UNIT_37, REFUSED_UNIT_37]);
  });
});

describe("the traffic panel", () => {
  it("shows the captured frames, marks the refused one, and narrows the list as the filter is typed", async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "workbench_traffic") {
        asked.push(args);
        return { enabled: false, frames: FRAMES, dropped: 0 };
      }
    });
    render(
      <Services.Provider value={testServices()}>
        <TrafficPanel />
      </Services.Provider>,
    );

    await waitFor(() => expect(screen.getAllByTestId("wb-frame")).toHaveLength(5));
    // Opening the panel only looks: it does not turn capture on.
    expect(asked).toEqual([{ enabled: null, since: 0 }]);
    expect(screen.getAllByTestId("wb-frame").filter((r) => r.classList.contains("bad"))).toHaveLength(1);

    fireEvent.input(screen.getByTestId("wb-traffic-filter"), { target: { value: "unit=37 rsp" } });
    const rows = screen.getAllByTestId("wb-frame");
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.querySelector(".hex")?.textContent)).toEqual([ANSWER_UNIT_37.hex, REFUSED_UNIT_37.hex]);
  });
});

describe("a reading picked in the grid becomes a draft tag", () => {
  it("a CDAB float at holding 3 becomes an f32 tag in CDAB order at holding address 3", () => {
    const cdab = SELECTED_3.find((d) => d.number === "f32" && d.pattern === "CDAB")!;
    expect(draftOf(cdab, "holding")).toEqual({ table: "holding", address: 3, valueType: "f32", order: "CDAB", reading: "231.5" });
  });

  it("a u16 pick has no word order and no decoded reading", () => {
    expect(draftOf({ address: 7, number: "u16" }, "input")).toEqual({ table: "input", address: 7, valueType: "u16", order: null, reading: null });
  });

  it("a coil or a discrete input is always a bool, whatever was picked", () => {
    expect(draftOf({ address: 12, number: "u16" }, "coil")).toEqual({ table: "coil", address: 12, valueType: "bool", order: null, reading: null });
    expect(draftOf(dec(4, "f32", "ABCD", "1.5", true), "discrete")).toEqual({ table: "discrete", address: 4, valueType: "bool", order: null, reading: null });
  });

  it("takes the plant file's word order, not the byte pattern, for a 64-bit reading", () => {
    const f64 = dec(10, "f64", "GHEFCDAB", "101.25", true, "CDAB");
    expect(draftOf(f64, "holding")).toMatchObject({ valueType: "f64", order: "CDAB", reading: "101.25" });
  });
});

describe("a tag id made from its name", () => {
  it("is the name in lower case with underscores between its words", () => {
    expect(idFrom("Wet well level")).toBe("wet_well_level");
    expect(idFrom("Pump 2 run")).toBe("pump_2_run");
  });

  it("drops punctuation and leading and trailing separators", () => {
    expect(idFrom("  Flow (m/h) — inlet!  ")).toBe("flow_m_h_inlet");
    expect(idFrom("--Level--")).toBe("level");
    expect(idFrom("H2S  ppm")).toBe("h2s_ppm");
  });

  it("spells compatibility characters plainly (m³/h is m3_h)", () => {
    expect(idFrom("Inflow m³/h")).toBe("inflow_m3_h");
  });

  it("drops the accents of accented letters instead of splitting the word", () => {
    expect(idFrom("Débit pompe")).toBe("debit_pompe");
    expect(idFrom("Niveau bâche")).toBe("niveau_bache");
  });

  it("is empty for a name without latin letters or digits, which then needs an id typed", () => {
    expect(idFrom("液位")).toBe("");
  });

  it("is always a valid plant-file id for a name with letters or digits in it", () => {
    for (const name of ["Level", "PUMP 1 SPEED", "drive-11 speed", "Temp. °C", "a/b\\c", "Valve #3 (open)", "x"]) {
      expect(idFrom(name), name).toMatch(/^[a-z0-9_-]+$/);
    }
  });
});

describe("the link as the plant file and the command line write it", () => {
  it("writes a Modbus TCP link as tcp://host:port", () => {
    expect(linkText({ kind: "tcp", host: "10.0.0.5", port: 502 })).toBe("tcp://10.0.0.5:502");
  });

  it("writes RTU over TCP as rtu-over-tcp://host:port", () => {
    expect(linkText({ kind: "rtuOverTcp", host: "gateway.local", port: 4001 })).toBe("rtu-over-tcp://gateway.local:4001");
  });

  it("writes a serial link with its baud rate and data bits, parity letter and stop bits", () => {
    expect(linkText({ kind: "rtu", path: "/dev/ttyUSB0", baud: 19200, parity: "even", dataBits: 8, stopBits: 1 })).toBe("rtu:/dev/ttyUSB0 19200 8E1");
    expect(linkText({ kind: "rtu", path: "COM3", baud: 9600, parity: "none", dataBits: 8, stopBits: 2 })).toBe("rtu:COM3 9600 8N2");
    expect(linkText({ kind: "rtu", path: "/dev/ttyS1", baud: 1200, parity: "odd", dataBits: 7, stopBits: 1 })).toBe("rtu:/dev/ttyS1 1200 7O1");
  });

  it("names a serial port by its path, then the USB adapter's names and ids where known", () => {
    const ftdi = { vendorId: "0403", productId: "6001", manufacturer: "FTDI", product: "FT232R USB UART", serialNumber: "A10K" };
    expect(portLabel({ path: "/dev/ttyUSB0", usb: ftdi })).toBe("/dev/ttyUSB0 — FTDI FT232R USB UART — 0403:6001");
    expect(portLabel({ path: "/dev/ttyACM0", usb: { ...ftdi, vendorId: "2341", productId: "0043", manufacturer: null, product: null } })).toBe("/dev/ttyACM0 — 2341:0043");
    expect(portLabel({ path: "/dev/ttyS0", usb: null })).toBe("/dev/ttyS0");
  });
});

describe("the device of the plant on a link and unit", () => {
  it("is the plant's device with the same link and the same unit id", () => {
    expect(deviceOn(LIFT, { kind: "tcp", host: "127.0.0.1", port: 5020 }, PLC_UNIT)?.id).toBe("plc");
    expect(deviceOn(LIFT, PLC_LINK, 2)?.id).toBe("vfd");
  });

  it("is none for another unit on the same link, another link, or no plant", () => {
    expect(deviceOn(LIFT, PLC_LINK, 37)).toBeNull();
    expect(deviceOn(LIFT, { ...PLC_LINK, port: 502 }, PLC_UNIT)).toBeNull();
    expect(deviceOn(LIFT, { kind: "rtuOverTcp", host: "127.0.0.1", port: 5020 }, PLC_UNIT)).toBeNull();
    expect(deviceOn(null, PLC_LINK, PLC_UNIT)).toBeNull();
  });
});

describe("a register's raw word", () => {
  it("shows as four upper-case hex digits", () => {
    expect(hex16(0x2e52)).toBe("2E52");
    expect(hex16(0xffff)).toBe("FFFF");
    expect(hex16(0x8000)).toBe("8000");
    expect(hex16(0x000a)).toBe("000A");
  });

  it("reads as a signed 16-bit number in two's complement", () => {
    expect(i16(0x2e52)).toBe(11858);
    expect(i16(0xffff)).toBe(-1);
    expect(i16(0x8000)).toBe(-32768);
    expect(i16(0x7fff)).toBe(32767);
    expect(i16(0)).toBe(0);
  });
});

// =========================================================================================================

interface GridProps {
  window?: GridWindow;
  unit?: number;
  promoted?: { d: Decoded | { address: number; number: NumberType }; table: TableName }[];
  windows?: GridWindow[];
}

function grid({ window = { table: "holding", address: 0, count: 5 }, unit = 37, promoted = [], windows = [] }: GridProps = {}) {
  render(
    <Services.Provider value={testServices()}>
      <RegisterGrid
        link={PLC_LINK}
        unit={unit}
        window={window}
        onWindow={(w) => windows.push(w)}
        onPromote={(d, table) => promoted.push({ d, table })}
      />
    </Services.Provider>,
  );
}

const row = (address: number) => screen.getAllByTestId("wb-row").find((r) => r.dataset.address === String(address))!;
const cell = (address: number, order: string) => row(address).querySelector(`td[data-order="${order}"]`)!;
const readOnce = () => fireEvent.click(screen.getByRole("button", { name: "Read once" }));

describe("the register grid", () => {
  it("reads the window's table, addresses and count from the chosen unit", async () => {
    const reads: GridRequest[] = [];
    deviceAnswering(reads);
    grid({ window: { table: "holding", address: 0, count: 5 }, unit: 37 });
    expect(reads).toEqual([]);

    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(5));
    expect(reads).toEqual([{ link: PLC_LINK, unit: 37, table: "holding", address: 0, count: 5, timeoutMs: 1000, selected: null }]);
  });

  it("shows each register as hex, u16 and i16", async () => {
    deviceAnswering([]);
    grid();
    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(5));
    const cells = (a: number) => Array.from(row(a).querySelectorAll("td")).slice(0, 4).map((td) => td.textContent);
    expect(cells(1)).toEqual(["1", "2E52", "11858", "11858"]);
    expect(cells(2)).toEqual(["2", "FFFF", "65535", "-1"]);
    expect(cells(3)).toEqual(["3", "8000", "32768", "-32768"]);
  });

  it("marks register 3's CDAB float plausible and its ABCD, BADC and DCBA readings implausible", async () => {
    deviceAnswering([]);
    grid();
    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(5));

    expect(cell(3, "CDAB").textContent).toBe("231.5");
    expect(cell(3, "CDAB").classList.contains("plausible")).toBe(true);
    expect(cell(3, "CDAB").classList.contains("implausible")).toBe(false);
    for (const o of ["ABCD", "BADC", "DCBA"]) {
      expect(cell(3, o).classList.contains("implausible"), o).toBe(true);
      expect(cell(3, o).classList.contains("plausible"), o).toBe(false);
    }
    expect(cell(3, "ABCD").textContent).toBe("-2.4e-41");
    // The last register has no pair to read as a float.
    expect(["ABCD", "CDAB", "BADC", "DCBA"].map((o) => cell(4, o).textContent)).toEqual(["", "", "", ""]);
  });

  it("shows no float columns for coils", async () => {
    deviceAnswering([]);
    grid({ window: { table: "coil", address: 0, count: 3 } });
    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(3));
    expect(screen.queryAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Address", "Hex", "u16", "i16"]);
    expect(row(0).querySelectorAll("td[data-order]")).toHaveLength(0);
  });

  it("asks for every reading of the selected register and offers the plant-file orders as tags", async () => {
    const reads: GridRequest[] = [];
    const promoted: GridProps["promoted"] = [];
    deviceAnswering(reads);
    grid({ promoted });
    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(5));

    // Picking a row reads again, for every reading of that register.
    fireEvent.click(row(3));
    expect(row(3).classList.contains("chosen")).toBe(true);
    await waitFor(() => expect(screen.getAllByTestId("wb-decoded").length).toBeGreaterThan(0));
    expect(reads.map((r) => r.selected)).toEqual([null, 3]);

    const orders = screen.getByTestId("wb-orders");
    expect(within(orders).getByRole("heading").textContent).toBe("Register 3 in every order");
    const decoded = screen.getAllByTestId("wb-decoded");
    const cdab = decoded.find((r) => r.dataset.number === "f32" && r.dataset.pattern === "CDAB")!;
    expect(cdab.classList.contains("plausible")).toBe(true);
    expect(cdab.textContent).toContain("plausible");
    expect(decoded.filter((r) => r.classList.contains("plausible"))).toEqual([cdab]);

    // A 64-bit order the plant file cannot name is shown, not offered.
    const f64 = decoded.find((r) => r.dataset.number === "f64")!;
    expect(within(f64).queryByTestId("wb-promote")).toBeNull();
    expect(f64.textContent).toContain("not a plant-file order");

    fireEvent.click(within(cdab).getByTestId("wb-promote"));
    fireEvent.click(screen.getByTestId("wb-promote-u16"));
    expect(promoted).toEqual([
      { d: SELECTED_3.find((d) => d.number === "f32" && d.pattern === "CDAB"), table: "holding" },
      { d: { address: 3, number: "u16" }, table: "holding" },
    ]);
  });

  it("never shows one register's readings under another's heading when the pick changes", async () => {
    const reads: GridRequest[] = [];
    const promoted: GridProps["promoted"] = [];
    deviceAnswering(reads);
    grid({ promoted });
    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row")).toHaveLength(5));
    fireEvent.click(row(3));
    await waitFor(() => expect(screen.getAllByTestId("wb-decoded").length).toBeGreaterThan(0));

    fireEvent.click(row(1));
    // Before the new read is back: register 1's heading and none of register 3's readings to make a tag of.
    expect(within(screen.getByTestId("wb-orders")).getByRole("heading").textContent).toBe("Register 1 in every order");
    expect(screen.queryAllByTestId("wb-decoded")).toHaveLength(0);
    await waitFor(() => expect(reads.map((r) => r.selected)).toEqual([null, 3, 1]));
    fireEvent.click(screen.getByTestId("wb-promote-u16"));
    expect(promoted).toEqual([{ d: { address: 1, number: "u16" }, table: "holding" }]);
  });

  it("hands a changed address or count to the screen as a new window", () => {
    const windows: GridWindow[] = [];
    deviceAnswering([]);
    grid({ window: { table: "holding", address: 0, count: 5 }, windows });
    fireEvent.input(screen.getByTestId("wb-grid-address"), { target: { value: "100" } });
    fireEvent.input(screen.getByTestId("wb-grid-count"), { target: { value: "10" } });
    expect(windows).toEqual([
      { table: "holding", address: 100, count: 5 },
      { table: "holding", address: 0, count: 10 },
    ]);
  });

  it("shows a read the device refused", async () => {
    mockIPC((cmd) => {
      if (cmd === "workbench_read") throw { code: "io", message: "unit 37: exception 02 illegal data address", problems: [] };
    });
    grid();
    readOnce();
    expect((await screen.findByRole("alert")).textContent).toBe("unit 37: exception 02 illegal data address");
    expect(screen.queryAllByTestId("wb-row")).toHaveLength(0);
  });
});

// =========================================================================================================

const CDAB_DRAFT: Draft = { table: "holding", address: 3, valueType: "f32", order: "CDAB", reading: "231.5" };

interface FormOpts {
  link?: LinkSpec;
  unit?: number;
  plant?: PlantInfo | null;
  session?: SessionView;
  draft?: Draft;
}

function promoteForm({ link = PLC_LINK, unit = PLC_UNIT, plant = LIFT, session = ENGINEER, draft = CDAB_DRAFT }: FormOpts = {}) {
  const events = { closed: 0, promoted: [] as PlantInfo[] };
  render(
    <Services.Provider value={testServices({ store: storeWith(plant), session })}>
      <PromoteForm draft={draft} link={link} unit={unit} onClose={() => (events.closed += 1)} onPromoted={(p) => events.promoted.push(p)} />
    </Services.Provider>,
  );
  return events;
}

/** Answers promote_tag with the plant after the change, and keeps the requests sent. */
function plantFileAccepting(sent: PromoteRequest[]) {
  mockIPC((cmd, args) => {
    if (cmd === "promote_tag") {
      sent.push((args as { request: PromoteRequest }).request);
      return LIFT_AFTER;
    }
  });
}

const type = (testId: string, value: string) => fireEvent.input(screen.getByTestId(testId), { target: { value } });
const labelled = (label: string) => screen.getByLabelText(label) as HTMLInputElement;
const save = () => fireEvent.click(screen.getByTestId("wb-promote-save"));

describe("the promote form", () => {
  it("says which register it adds, as what, and what it reads now", () => {
    mockIPC(() => undefined);
    promoteForm();
    const form = screen.getByRole("dialog", { name: "Add a tag to the plant" });
    expect(form.querySelector("p.num")?.textContent).toBe("holding 3 as f32 CDAB = 231.5");
  });

  it("adds the tag to the plant's device on the same link and unit", async () => {
    const sent: PromoteRequest[] = [];
    plantFileAccepting(sent);
    const events = promoteForm({ link: { kind: "tcp", host: "127.0.0.1", port: 5020 }, unit: PLC_UNIT });

    expect((screen.getByTestId("wb-promote-device") as HTMLSelectElement).value).toBe("plc");
    expect(screen.queryByTestId("wb-new-device-id")).toBeNull();
    type("wb-tag-name", "Wet well level");
    expect(screen.getByTestId("wb-tag-id").getAttribute("placeholder")).toBe("wet_well_level");
    fireEvent.input(labelled("Scale"), { target: { value: "0.1" } });
    type("wb-tag-unit", " m ");
    save();

    await waitFor(() => expect(events.closed).toBe(1));
    expect(sent).toEqual([
      {
        target: { kind: "device", device: "plc" },
        tag: { id: "wet_well_level", name: "Wet well level", table: "holding", address: 3, valueType: "f32", order: "CDAB", scale: 0.1, offset: null, unit: "m" },
      },
    ]);
    expect(events.promoted).toEqual([LIFT_AFTER]);
  });

  it("adds a new device on a link and unit the plant does not poll yet", async () => {
    const sent: PromoteRequest[] = [];
    plantFileAccepting(sent);
    const events = promoteForm({ link: PLC_LINK, unit: 37, draft: { table: "input", address: 12, valueType: "u16", order: null, reading: null } });

    expect((screen.getByTestId("wb-promote-device") as HTMLSelectElement).value).toBe("");
    expect((screen.getByTestId("wb-new-device-id") as HTMLInputElement).value).toBe("unit37");
    expect(labelled("New device name").value).toBe("Device at unit 37");
    type("wb-new-device-id", " mystery ");
    type("wb-tag-name", "Pump 3 hours");
    type("wb-tag-id", "p3_hours");
    fireEvent.input(labelled("Offset"), { target: { value: "-5" } });
    save();

    await waitFor(() => expect(events.closed).toBe(1));
    expect(sent).toEqual([
      {
        target: { kind: "newDevice", id: "mystery", name: "Device at unit 37", link: PLC_LINK, unit: 37 },
        tag: { id: "p3_hours", name: "Pump 3 hours", table: "input", address: 12, valueType: "u16", order: null, scale: null, offset: -5, unit: null },
      },
    ]);
    expect(events.promoted).toEqual([LIFT_AFTER]);
  });

  it("can add to an existing device chosen by hand instead of a new one", async () => {
    const sent: PromoteRequest[] = [];
    plantFileAccepting(sent);
    promoteForm({ unit: 37 });
    fireEvent.change(screen.getByTestId("wb-promote-device"), { target: { value: "vfd" } });
    expect(screen.queryByTestId("wb-new-device-id")).toBeNull();
    type("wb-tag-name", "Motor current");
    save();
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0].target).toEqual({ kind: "device", device: "vfd" });
    expect(sent[0].tag.id).toBe("motor_current");
  });

  it("shows a refusal with the plant file's problems and stays open to correct it", async () => {
    const refusal: UiError = {
      code: "configInvalid",
      message: "the plant file would not load after the change",
      problems: [{ line: 14, col: 7, message: "tag id 'level' is already used on device 'plc'" }],
    };
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "promote_tag") {
        sent.push(args);
        throw refusal;
      }
    });
    const events = promoteForm();
    type("wb-tag-name", "Level");
    save();

    const error = await screen.findByTestId("wb-promote-error");
    expect(sent).toHaveLength(1);
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("the plant file would not load after the change");
    expect(within(error).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["14:7: tag id 'level' is already used on device 'plc'"]);
    expect(events).toEqual({ closed: 0, promoted: [] });
    expect(screen.getByRole("dialog")).toBeTruthy();
    expect((screen.getByTestId("wb-tag-name") as HTMLInputElement).value).toBe("Level");
    await waitFor(() => expect((screen.getByTestId("wb-promote-save") as HTMLButtonElement).disabled).toBe(false));
  });

  it("shows a refusal without problems as its message alone", async () => {
    mockIPC((cmd) => {
      if (cmd === "promote_tag") throw { code: "denied", message: "an engineer or admin may change the plant file" };
    });
    const events = promoteForm();
    type("wb-tag-name", "Level");
    save();
    const error = await screen.findByTestId("wb-promote-error");
    expect(error.textContent).toBe("an engineer or admin may change the plant file");
    expect(events.closed).toBe(0);
  });

  it("lets a viewer see but not save, and says who may", () => {
    mockIPC(() => undefined);
    promoteForm({ session: NO_SESSION });
    expect((screen.getByTestId("wb-promote-save") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText("Sign in as an engineer or admin to change the plant file.")).toBeTruthy();
  });

  it("cannot save into the simulated plant, which has no file", () => {
    mockIPC(() => undefined);
    promoteForm({ plant: { ...LIFT, source: null, simulated: true } });
    expect((screen.getByTestId("wb-promote-save") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText("Open a plant file first: the simulated plant has no file to add tags to.")).toBeTruthy();
  });

  it("waits for an id typed by hand when the name gives none (a Chinese name)", () => {
    mockIPC(() => undefined);
    promoteForm();
    const save = screen.getByTestId("wb-promote-save") as HTMLButtonElement;
    type("wb-tag-name", "液位");
    expect(save.disabled).toBe(true);
    expect((screen.getByTestId("wb-tag-id") as HTMLInputElement).required).toBe(true);
    type("wb-tag-id", "level");
    expect(save.disabled).toBe(false);
  });

  it("closes on cancel without touching the plant file", () => {
    const commands: string[] = [];
    mockIPC((cmd) => {
      commands.push(cmd);
    });
    const events = promoteForm();
    type("wb-tag-name", "Level");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(events.closed).toBe(1);
    expect(commands).not.toContain("promote_tag");
  });
});

// =========================================================================================================

function workbench(opened: PlantInfo[] = []) {
  render(
    <Services.Provider value={testServices({ store: storeWith(LIFT), session: ENGINEER })}>
      <Workbench onOpened={(p) => opened.push(p)} />
    </Services.Provider>,
  );
}

describe("the workbench screen", () => {
  it("starts on the plant's first device, and a CDAB float picked in the grid becomes a tag of it", async () => {
    const reads: GridRequest[] = [];
    const sent: PromoteRequest[] = [];
    deviceAnswering(reads, (cmd, args) => {
      if (cmd === "promote_tag") {
        sent.push((args as { request: PromoteRequest }).request);
        return LIFT_AFTER;
      }
    });
    const opened: PlantInfo[] = [];
    workbench(opened);
    expect((screen.getByTestId("wb-host") as HTMLInputElement).value).toBe("127.0.0.1");
    expect((screen.getByTestId("wb-port") as HTMLInputElement).value).toBe("5020");

    readOnce();
    await waitFor(() => expect(screen.getAllByTestId("wb-row").length).toBeGreaterThan(0));
    expect(reads[0]).toMatchObject({ link: PLC_LINK, unit: PLC_UNIT, table: "holding", address: 0, count: 20 });

    fireEvent.click(row(3));
    readOnce();
    const decoded = await screen.findAllByTestId("wb-decoded");
    const cdab = decoded.find((r) => r.dataset.number === "f32" && r.dataset.pattern === "CDAB")!;
    fireEvent.click(within(cdab).getByTestId("wb-promote"));

    const form = await screen.findByTestId("wb-promote-form");
    expect(form.querySelector("p.num")?.textContent).toBe("holding 3 as f32 CDAB = 231.5");
    type("wb-tag-name", "Wet well level");
    save();

    await waitFor(() => expect(screen.queryByTestId("wb-promote-form")).toBeNull());
    expect(sent).toHaveLength(1);
    expect(sent[0].target).toEqual({ kind: "device", device: "plc" });
    expect(sent[0].tag).toMatchObject({ id: "wet_well_level", table: "holding", address: 3, valueType: "f32", order: "CDAB" });
    expect(opened).toEqual([LIFT_AFTER]);
  });

  it("starts again from another device of the plant: its link and its unit", async () => {
    const reads: GridRequest[] = [];
    deviceAnswering(reads);
    workbench();
    expect((screen.getByTestId("wb-unit-input") as HTMLInputElement).value).toBe(String(PLC_UNIT));

    fireEvent.input(screen.getByTestId("wb-port"), { target: { value: "502" } });
    fireEvent.change(screen.getByLabelText("Start from a device…"), { target: { value: "vfd" } });
    expect((screen.getByTestId("wb-port") as HTMLInputElement).value).toBe("5020");
    expect((screen.getByTestId("wb-unit-input") as HTMLInputElement).value).toBe("2");

    readOnce();
    await waitFor(() => expect(reads).toHaveLength(1));
    expect(reads[0]).toMatchObject({ link: PLC_LINK, unit: 2 });
  });

  it("opens a readable range found by a scan in the grid, at most 125 registers at a time", async () => {
    const scans: RangeScanRequest[] = [];
    deviceAnswering([], (cmd, args) => {
      if (cmd === "workbench_scan_ranges") {
        const { request, channel } = args as { request: RangeScanRequest; channel: Channel<ScanEvent> };
        scans.push(request);
        channel.onmessage({ kind: "ranges", ranges: [{ from: 100, to: 104 }, { from: 200, to: 999 }], requests: 12 });
        channel.onmessage({ kind: "done", found: 2, elapsedMs: 1500 });
      }
    });
    workbench();
    fireEvent.click(screen.getByTestId("wb-scan-ranges"));
    const ranges = await screen.findAllByTestId("wb-range");
    expect(scans).toEqual([{ link: PLC_LINK, unit: PLC_UNIT, table: "holding", from: 0, to: 9999, timeoutMs: 200 }]);
    expect(ranges.map((r) => r.textContent)).toEqual(["holding 100–104", "holding 200–999"]);

    const gridWindow = () => [
      (screen.getByTestId("wb-grid-address") as HTMLInputElement).value,
      (screen.getByTestId("wb-grid-count") as HTMLInputElement).value,
    ];
    fireEvent.click(ranges[0]);
    expect(gridWindow()).toEqual(["100", "5"]);
    fireEvent.click(ranges[1]);
    expect(gridWindow()).toEqual(["200", "125"]);
  });
});
