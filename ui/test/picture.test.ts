import { describe, expect, it } from "vitest";
import type { AlarmRow, ScreenView, TagUpdate } from "../src/bindings/ipc";
import { NO_ALARMS } from "../src/live";
import { holds, PictureBinder, pictureText, svgElement, unacknowledgedTags } from "../src/picture";
import { tag } from "./fixtures";

// Tags: 0 plc/level (m), 1 plc/running, 2 plc/tripped, 3 plc/speed.
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
<rect data-pw-id="0" x="10" y="10" width="20" height="80"/>
<text data-pw-id="1">-</text>
<circle data-pw-id="2" r="5" fill="#999"/>
<text data-pw-id="3">TRIP</text>
<rect data-pw-id="4" width="10" height="2"/>
</svg>`;

const picture: ScreenView = {
  id: "station",
  title: "Station",
  svg: SVG,
  problem: null,
  elements: [
    {
      id: 0,
      tags: [0],
      bindings: [
        { kind: "level", tag: 0, from: 0, to: 4, axis: "y" },
        { kind: "click", tag: 0, action: "trend" },
      ],
    },
    { id: 1, tags: [0], bindings: [{ kind: "text", tag: 0, decimals: 2, unit: "m" }] },
    {
      id: 2,
      tags: [1, 2],
      bindings: [
        {
          kind: "fill",
          rules: [
            { tag: 1, test: { kind: "is", value: true }, colour: "#22aa22" },
            { tag: 1, test: { kind: "is", value: false }, colour: "#777777" },
            { tag: 2, test: { kind: "is", value: true }, colour: "#dd2222" },
          ],
        },
      ],
    },
    { id: 3, tags: [2], bindings: [{ kind: "visible", tag: 2, test: { kind: "is", value: true } }] },
    {
      id: 4,
      tags: [3],
      bindings: [{ kind: "rotate", tag: 3, valueFrom: 0, valueTo: 1500, angleFrom: 0, angleTo: 360 }],
    },
  ],
};

function reading(i: number, v: number | boolean | null, q: TagUpdate["q"] = "good"): TagUpdate {
  return { i, v, q, cause: q === "good" ? null : { kind: "comm_lost" }, t: 1, c: 1 };
}

function mount() {
  const svg = svgElement(picture);
  if (!svg) throw new Error("the picture did not parse");
  document.body.replaceChildren(svg);
  const el = (id: number) => svg.querySelector(`[data-pw-id="${id}"]`) as SVGElement;
  return { binder: new PictureBinder(svg, picture), el };
}

describe("binding tests", () => {
  it("compare booleans, ranges with open ends and numbers", () => {
    expect(holds({ kind: "is", value: true }, reading(0, true))).toBe(true);
    expect(holds({ kind: "is", value: false }, reading(0, true))).toBe(false);
    expect(holds({ kind: "within", from: null, to: 0.5 }, reading(0, 0.5))).toBe(true);
    expect(holds({ kind: "within", from: 3.2, to: null }, reading(0, 3.1))).toBe(false);
    expect(holds({ kind: "compare", op: ">", value: 2 }, reading(0, 2.5))).toBe(true);
    expect(holds({ kind: "compare", op: "!=", value: 2 }, reading(0, 2))).toBe(false);
    expect(holds({ kind: "is", value: true }, undefined), "no reading satisfies nothing").toBe(false);
  });

  it("write values with the binding's decimals and unit", () => {
    expect(pictureText(reading(0, 2.3456), 2, "m")).toBe("2.35 m");
    expect(pictureText(reading(0, true), null, null)).toBe("ON");
    expect(pictureText(undefined, 1, "m")).toBe("—");
  });
});

describe("a picture in the page", () => {
  it("draws the level from the bottom, the text, the colour, the visibility and the angle", () => {
    const { binder, el } = mount();
    binder.apply([reading(0, 1), reading(1, true), reading(2, false), reading(3, 750)], null);
    expect(el(0).getAttribute("height")).toBe("20");
    expect(el(0).getAttribute("y")).toBe("70");
    expect(el(1).textContent).toBe("1.00 m");
    expect(el(2).style.fill).toBe("rgb(34, 170, 34)");
    expect(el(3).style.display).toBe("none");
    expect(el(4).style.transform).toBe("rotate(180deg)");

    // A trip wins over running: the later rule that holds.
    binder.apply([reading(0, 1), reading(1, true), reading(2, true), reading(3, 750)], [2]);
    expect(el(2).style.fill).toBe("rgb(221, 34, 34)");
    expect(el(3).style.display).toBe("");
  });

  it("touches only the elements of the tags that changed", () => {
    const { binder, el } = mount();
    const values = [reading(0, 1), reading(1, true), reading(2, false), reading(3, 0)];
    binder.apply(values, null);
    expect(binder.touched).toBe(5);
    values[0] = reading(0, 4);
    el(2).style.fill = "#123456"; // a mark: untouched elements keep it
    binder.apply(values, [0]);
    expect(binder.touched).toBe(2);
    expect(el(0).getAttribute("height")).toBe("80");
    expect(el(2).style.fill).toBe("rgb(18, 52, 86)");
  });

  it("greys a bad reading the same way everywhere, with the cause as the tooltip", () => {
    const { binder, el } = mount();
    binder.apply([reading(0, 1, "bad"), reading(1, true), reading(2, false), reading(3, 0)], null);
    for (const id of [0, 1]) {
      expect(el(id).classList.contains("pw-bad")).toBe(true);
      expect(el(id).querySelector("title")?.textContent).toBe("communication lost: the device does not answer");
    }
    expect(el(1).firstChild?.textContent, "the value text stays beside the tooltip").toBe("1.00 m");
    binder.apply([reading(0, 1), reading(1, true), reading(2, false), reading(3, 0)], [0]);
    expect(el(0).classList.contains("pw-bad")).toBe(false);
    expect(el(0).querySelector("title")).toBeNull();
  });

  it("blinks the fill bound to a tag with an unacknowledged alarm", () => {
    const { binder, el } = mount();
    const tags = [tag(0, 0, "plc/level"), tag(1, 0, "plc/running"), tag(2, 0, "plc/tripped"), tag(3, 0, "plc/speed")];
    const row = { source: "plc/tripped", state: "activeUnacked" } as AlarmRow;
    binder.applyAlarms(unacknowledgedTags({ ...NO_ALARMS, alarms: [row] }, tags));
    expect(el(2).classList.contains("pw-alarm")).toBe(true);
    expect(el(3).classList.contains("pw-alarm"), "visibility is not a fill").toBe(false);
    binder.applyAlarms(unacknowledgedTags({ ...NO_ALARMS, alarms: [{ ...row, state: "activeAcked" }] }, tags));
    expect(el(2).classList.contains("pw-alarm")).toBe(false);
  });

  it("answers a click with the element's action and tag", () => {
    const { binder, el } = mount();
    expect(binder.clickAt(el(0))).toEqual({ action: "trend", tag: 0 });
    expect(binder.clickAt(el(1))).toBeNull();
  });

  it("scales to its box and keeps nothing that is not SVG", () => {
    const svg = svgElement(picture);
    expect(svg?.getAttribute("width")).toBe("100%");
    expect(svg?.getAttribute("preserveAspectRatio")).toBe("xMidYMid meet");
    expect(svgElement({ ...picture, svg: "<svg" })).toBeNull();
  });
});

describe("the Screens screen", () => {
  it("shows the picture with live values, opens a trend on click and exports what it shows", async () => {
    const { render, fireEvent, screen: page, cleanup, waitFor } = await import("@testing-library/preact");
    const { h } = await import("preact");
    const { Services, NO_SESSION, DEFAULT_SETTINGS } = await import("../src/context");
    const { LiveStore } = await import("../src/live");
    const { Screens } = await import("../src/screens/Screens");
    const { backend } = await import("../src/ipc");
    const store = new LiveStore();
    store.setPlant({
      name: "t",
      source: null,
      simulated: true,
      historyPath: "",
      devices: [],
      tags: [tag(0, 0, "plc/level", { unit: "m" }), tag(1, 0, "plc/running"), tag(2, 0, "plc/tripped"), tag(3, 0, "plc/speed")],
    });
    store.setSnapshot([reading(0, 2), reading(1, true), reading(2, false), reading(3, 0)]);
    const went: unknown[] = [];
    const exports: [string, string, string][] = [];
    const fake = {
      ...backend,
      exportScreen: async (id: string, svg: string, format: string) => (exports.push([id, svg, format]), `/x/screen.${format}`),
    };
    render(
      h(
        Services.Provider,
        {
          value: {
            backend: fake,
            store,
            settings: DEFAULT_SETTINGS,
            saveSettings: () => {},
            go: (...a: unknown[]) => went.push(a),
            session: NO_SESSION,
            setSession: () => {},
          },
        },
        h(Screens, { screens: [picture] }),
      ),
    );
    const host = page.getByTestId("picture");
    const water = () => host.querySelector('[data-pw-id="0"]') as SVGElement;
    expect(water().getAttribute("height")).toBe("40");
    store.apply({ tags: [reading(0, 3)], devices: null, alarms: null, urgent: [], resync: false } as never);
    expect(water().getAttribute("height")).toBe("60");
    expect(host.dataset.touched, "one tag changed: its two elements").toBe("2");
    fireEvent.click(water());
    expect(went).toEqual([["trends", [0]]]);
    fireEvent.click(page.getByTestId("picture-export"));
    await waitFor(() => expect(page.getByTestId("picture-exported").textContent).toBe("Saved /x/screen.svg"));
    expect(exports[0][0]).toBe("station");
    expect(exports[0][1]).toContain('height="60"');
    expect(exports[0][2]).toBe("svg");
    fireEvent.click(page.getByTestId("picture-export-png"));
    await waitFor(() => expect(page.getByTestId("picture-exported").textContent).toBe("Saved /x/screen.png"));
    expect(exports[1]).toEqual([exports[0][0], exports[0][1], "png"]);
    cleanup();
  });
});
