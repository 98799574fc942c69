// Small plants for UI tests, in the shape the Rust side sends.
import type { DeviceInfo, PlantInfo, TagInfo } from "../src/bindings/ipc";
import { DEFAULT_SETTINGS, NO_SESSION, type AppServices } from "../src/context";
import { backend } from "../src/ipc";
import { LiveStore } from "../src/live";

/** The services a screen gets from the app, with the defaults (real IPC facade, default settings, no
 * session, actions that do nothing) except what a test gives. */
export function testServices(given: Partial<AppServices> = {}): AppServices {
  return {
    backend,
    store: new LiveStore(),
    settings: DEFAULT_SETTINGS,
    saveSettings: () => {},
    go: () => {},
    session: NO_SESSION,
    setSession: () => {},
    ...given,
  };
}

export function device(index: number, id: string, tagCount: number, firstTag: number): DeviceInfo {
  return {
    index,
    id,
    name: id.toUpperCase(),
    link: "tcp://127.0.0.1:5020",
    linkSpec: { kind: "tcp", host: "127.0.0.1", port: 5020 },
    transport: "tcp",
    unit: index + 1,
    pollMs: 1000,
    timeoutMs: 500,
    maxBlock: 125,
    maxGap: 16,
    firstTag,
    tagCount,
  };
}

export function tag(index: number, device: number, id: string, extra: Partial<TagInfo> = {}): TagInfo {
  return {
    index,
    device,
    id,
    name: id.split("/")[1] ?? id,
    nameZh: null,
    unit: null,
    valueType: "u16",
    table: "holding",
    address: index,
    boolean: false,
    alarms: [],
    write: null,
    ...extra,
  };
}

/** A plant of `n` tags on one device `plc`. */
export function plant(n: number): PlantInfo {
  return {
    name: "Test plant",
    source: null,
    simulated: true,
    historyPath: "/tmp/x.db",
    devices: [device(0, "plc", n, 0)],
    tags: Array.from({ length: n }, (_, i) => tag(i, 0, `plc/t${i}`)),
  };
}

/** A plant of `perDevice` tags on each of `devices` devices (for the 10,000-tag list). */
export function bigPlant(devices: number, perDevice: number): PlantInfo {
  const ds: DeviceInfo[] = [];
  const ts: TagInfo[] = [];
  for (let d = 0; d < devices; d++) {
    ds.push(device(d, `dev${d}`, perDevice, d * perDevice));
    for (let t = 0; t < perDevice; t++) {
      const i = d * perDevice + t;
      ts.push(tag(i, d, `dev${d}/tag${t}`, { unit: t % 2 === 0 ? "bar" : "m" }));
    }
  }
  return { name: "Big plant", source: "/plants/big.toml", simulated: false, historyPath: "/tmp/b.db", devices: ds, tags: ts };
}
