// The live picture of the plant in the UI: tag values by index, device statuses and alarms, kept up to
// date from the batches the Rust side pushes (at most about ten a second). Screens read it and re-render
// once per batch, never once per tag.
import type { AlarmView, DeviceView, LiveBatch, PlantInfo, TagUpdate } from "./bindings/ipc";

/** The last `capacity` readings of a tag, for sparklines and live trends. */
export class Ring {
  readonly times: number[] = [];
  readonly values: number[] = [];
  constructor(readonly capacity: number) {}

  push(time: number, value: number) {
    const n = this.times.length;
    // A reading at the same time replaces the last one (a re-sent value, not a new point).
    if (n > 0 && this.times[n - 1] === time) {
      this.values[n - 1] = value;
      return;
    }
    this.times.push(time);
    this.values.push(value);
    if (this.times.length > this.capacity) {
      this.times.shift();
      this.values.shift();
    }
  }
}

export const NO_ALARMS: AlarmView = {
  available: false,
  counts: { critical: 0, high: 0, medium: 0, low: 0 },
  unacknowledged: 0,
  newest: null,
  alarms: [],
  shelved: [],
  outOfService: [],
};

/** A numeric reading of a tag, or null (text, no value). */
export function numeric(u: TagUpdate | undefined): number | null {
  if (!u || u.v === null) return null;
  if (typeof u.v === "number") return u.v;
  if (typeof u.v === "boolean") return u.v ? 1 : 0;
  return null;
}

type Listener = () => void;

export class LiveStore {
  plant: PlantInfo | null = null;
  values: (TagUpdate | undefined)[] = [];
  devices: DeviceView[] = [];
  alarms: AlarmView = NO_ALARMS;
  /** When the last batch arrived (browser clock), for the "live" indicator. */
  lastBatchAt = 0;
  /** Increases with every change: cheap for components to compare. */
  version = 0;
  /** The tags the last change touched, or null when every tag may have (a new plant or snapshot), for
   * views that update only what changed (process pictures). */
  lastChanged: number[] | null = null;
  private rings = new Map<number, Ring>();
  private listeners = new Set<Listener>();

  setPlant(plant: PlantInfo) {
    this.plant = plant;
    this.values = new Array(plant.tags.length);
    this.devices = [];
    this.rings.clear();
    this.lastChanged = null;
    this.changed();
  }

  /** Keeps a short history of these tags (sparklines); other tags keep only their latest reading. */
  watch(tags: number[], capacity = 240) {
    for (const t of tags) {
      if (!this.rings.has(t)) this.rings.set(t, new Ring(capacity));
    }
  }

  ring(tag: number): Ring | undefined {
    return this.rings.get(tag);
  }

  /** Replaces every tag's reading (after subscribing, or when the UI fell behind). */
  setSnapshot(updates: TagUpdate[]) {
    for (const u of updates) this.put(u);
    this.lastChanged = null;
    this.changed();
  }

  apply(batch: LiveBatch) {
    for (const u of batch.tags) this.put(u);
    this.lastChanged = batch.tags.map((u) => u.i);
    if (batch.devices) this.devices = batch.devices;
    if (batch.alarms) this.alarms = batch.alarms;
    this.lastBatchAt = Date.now();
    this.changed();
  }

  setAlarms(view: AlarmView) {
    this.alarms = view;
    this.lastChanged = [];
    this.changed();
  }

  setDevices(devices: DeviceView[]) {
    this.devices = devices;
    this.lastChanged = [];
    this.changed();
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private put(u: TagUpdate) {
    this.values[u.i] = u;
    const ring = this.rings.get(u.i);
    const n = numeric(u);
    if (ring && n !== null && u.t !== null && u.q !== "bad") ring.push(u.t, n);
  }

  private changed() {
    this.version++;
    for (const fn of this.listeners) fn();
  }
}
