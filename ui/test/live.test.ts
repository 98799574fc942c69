import { describe, expect, it } from "vitest";
import type { LiveBatch, PlantInfo, TagUpdate } from "../src/bindings/ipc";
import { LiveStore, numeric, Ring } from "../src/live";
import { plant } from "./fixtures";

const update = (i: number, v: number | boolean | null, t: number, q: TagUpdate["q"] = "good"): TagUpdate => ({
  i,
  v,
  q,
  cause: q === "good" ? null : { kind: "comm_lost" },
  t,
  c: t,
});

const batch = (tags: TagUpdate[], extra: Partial<LiveBatch> = {}): LiveBatch => ({
  at: 0,
  tags,
  devices: null,
  alarms: null,
  urgent: [],
  resync: false,
  ...extra,
});

describe("the live store", () => {
  it("keeps the newest reading of each tag and notifies once per batch", () => {
    const store = new LiveStore();
    store.setPlant(plant(3) as PlantInfo);
    let notified = 0;
    store.subscribe(() => notified++);
    store.apply(batch([update(0, 1.5, 1000), update(2, true, 1000)]));
    store.apply(batch([update(0, 2.5, 2000)]));
    expect(notified).toBe(2);
    expect(store.values[0]?.v).toBe(2.5);
    expect(store.values[2]?.v).toBe(true);
    expect(store.values[1]).toBeUndefined();
  });

  it("records a short history only for watched tags, skipping bad readings", () => {
    const store = new LiveStore();
    store.setPlant(plant(2) as PlantInfo);
    store.watch([0]);
    store.apply(batch([update(0, 1, 1000), update(1, 5, 1000)]));
    store.apply(batch([update(0, 2, 2000, "bad")]));
    store.apply(batch([update(0, 3, 3000)]));
    expect(store.ring(0)?.values).toEqual([1, 3]);
    expect(store.ring(1)).toBeUndefined();
  });

  it("takes device statuses and alarms when a batch carries them", () => {
    const store = new LiveStore();
    store.setPlant(plant(1) as PlantInfo);
    store.apply(batch([], { alarms: { ...store.alarms, available: true, unacknowledged: 2 } }));
    expect(store.alarms.unacknowledged).toBe(2);
    store.apply(batch([]));
    expect(store.alarms.unacknowledged).toBe(2);
  });
});

describe("a ring of readings", () => {
  it("drops the oldest beyond its capacity and replaces a reading at the same time", () => {
    const r = new Ring(3);
    for (const [t, v] of [[1, 1], [2, 2], [2, 20], [3, 3], [4, 4]]) r.push(t, v);
    expect(r.times).toEqual([2, 3, 4]);
    expect(r.values).toEqual([20, 3, 4]);
  });
});

describe("numeric readings", () => {
  it("turns booleans into 0/1 and text or no value into null", () => {
    expect(numeric(update(0, true, 1))).toBe(1);
    expect(numeric(update(0, null, 1))).toBeNull();
    expect(numeric({ ...update(0, null, 1), v: "text" })).toBeNull();
    expect(numeric(undefined)).toBeNull();
  });
});
