// Process pictures (issue 16): applies live values to a sanitised SVG's bound elements. Built once per
// picture (element lookup, tag -> elements map, each level's geometry); each batch then touches only the
// elements whose tags changed. All plant logic (what a binding means) was parsed on the Rust side; this
// only evaluates the typed bindings.
import type {
  AlarmView,
  ScreenBinding,
  ScreenElement,
  ScreenView,
  TagInfo,
  TagUpdate,
  ValueTest,
} from "./bindings/ipc";
import { describeCause } from "./format";

/** Whether a test holds for a reading; a missing value or a text never satisfies one. */
export function holds(test: ValueTest, u: TagUpdate | undefined): boolean {
  if (!u || u.v === null || typeof u.v === "string") return false;
  switch (test.kind) {
    case "is":
      return typeof u.v === "boolean" ? u.v === test.value : (u.v !== 0) === test.value;
    case "within": {
      const v = typeof u.v === "boolean" ? Number(u.v) : u.v;
      return (test.from === null || v >= test.from) && (test.to === null || v <= test.to);
    }
    case "compare": {
      const v = typeof u.v === "boolean" ? Number(u.v) : u.v;
      switch (test.op) {
        case ">":
          return v > test.value;
        case ">=":
          return v >= test.value;
        case "<":
          return v < test.value;
        case "<=":
          return v <= test.value;
        case "==":
          return v === test.value;
        case "!=":
          return v !== test.value;
      }
    }
  }
}

/** A value as a picture's text shows it: fixed decimals when the binding says, with the unit. */
export function pictureText(u: TagUpdate | undefined, decimals: number | null, unit: string | null): string {
  if (!u || u.v === null) return "—";
  let text: string;
  if (typeof u.v === "boolean") text = u.v ? "ON" : "OFF";
  else if (typeof u.v === "string") text = u.v;
  else text = decimals === null ? String(u.v) : u.v.toFixed(decimals);
  return unit ? `${text} ${unit}` : text;
}

/** The fraction 0..1 of `v` between `from` and `to`, clamped. */
export function fraction(v: number, from: number, to: number): number {
  return Math.min(1, Math.max(0, (v - from) / (to - from)));
}

function number(u: TagUpdate | undefined): number | null {
  if (!u || u.v === null || typeof u.v === "string") return null;
  return typeof u.v === "boolean" ? Number(u.v) : u.v;
}

/** The tags with an unacknowledged alarm, by index. */
export function unacknowledgedTags(alarms: AlarmView, tags: TagInfo[]): Set<number> {
  const byId = new Map(tags.map((t) => [t.id, t.index]));
  const out = new Set<number>();
  for (const a of alarms.alarms) {
    if (a.state !== "activeUnacked" && a.state !== "returnedUnacked") continue;
    const i = byId.get(a.source);
    if (i !== undefined) out.add(i);
  }
  return out;
}

/** A rect's own box, kept so a level scales from the drawn full height (or width). */
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Bound {
  el: SVGElement;
  spec: ScreenElement;
  /** The drawn box of a level-bound rect, read once. */
  box: Box | null;
  /** The element's tooltip while its quality is not good. */
  title: SVGTitleElement | null;
}

/** What a click on a bound element asks for. */
export interface PictureClick {
  action: "trend" | "write";
  tag: number;
}

/** The live side of one picture in the page. */
export class PictureBinder {
  private bound = new Map<number, Bound>();
  private byTag = new Map<number, Bound[]>();
  private blinking = new Set<number>();
  /** How many elements the last `apply` touched (for the benchmark and tests). */
  touched = 0;

  constructor(
    readonly root: SVGSVGElement,
    readonly screen: ScreenView,
  ) {
    const byId = new Map<number, SVGElement>();
    root.querySelectorAll<SVGElement>("[data-pw-id]").forEach((el) => byId.set(Number(el.dataset.pwId), el));
    for (const spec of screen.elements) {
      const el = byId.get(spec.id);
      if (!el) continue;
      const b: Bound = { el, spec, box: levelBox(el, spec.bindings), title: null };
      this.bound.set(spec.id, b);
      for (const t of spec.tags) {
        const list = this.byTag.get(t);
        if (list) list.push(b);
        else this.byTag.set(t, [b]);
      }
      if (spec.bindings.some((x) => x.kind === "click")) el.classList.add("pw-click");
    }
  }

  /** The tags the picture reads. */
  tags(): number[] {
    return [...this.byTag.keys()];
  }

  /** Applies readings: every element when `changed` is null (a snapshot), else only those bound to a
   * changed tag. */
  apply(values: (TagUpdate | undefined)[], changed: number[] | null) {
    let targets: Iterable<Bound>;
    if (changed === null) {
      targets = this.bound.values();
    } else {
      const set = new Set<Bound>();
      for (const t of changed) for (const b of this.byTag.get(t) ?? []) set.add(b);
      targets = set;
    }
    let n = 0;
    for (const b of targets) {
      applyElement(b, values);
      n++;
    }
    this.touched = n;
  }

  /** Blinks the fill of elements whose fill reads a tag with an unacknowledged alarm. */
  applyAlarms(unacked: Set<number>) {
    const next = new Set<number>();
    for (const t of unacked) {
      for (const b of this.byTag.get(t) ?? []) {
        const fillTags = b.spec.bindings.flatMap((x) => (x.kind === "fill" ? x.rules.map((r) => r.tag) : []));
        if (fillTags.includes(t)) next.add(b.spec.id);
      }
    }
    for (const id of this.blinking) if (!next.has(id)) this.bound.get(id)?.el.classList.remove("pw-alarm");
    for (const id of next) if (!this.blinking.has(id)) this.bound.get(id)?.el.classList.add("pw-alarm");
    this.blinking = next;
  }

  /** What a click on `target` (any node inside the picture) opens, if anything. */
  clickAt(target: Element | null): PictureClick | null {
    const el = target?.closest("[data-pw-id]");
    if (!el || !this.root.contains(el)) return null;
    const b = this.bound.get(Number((el as SVGElement).dataset.pwId));
    const click = b?.spec.bindings.find((x) => x.kind === "click");
    return click && click.kind === "click" ? { action: click.action, tag: click.tag } : null;
  }
}

function levelBox(el: SVGElement, bindings: ScreenBinding[]): Box | null {
  if (!bindings.some((b) => b.kind === "level") || el.tagName !== "rect") return null;
  const attr = (name: string) => Number.parseFloat(el.getAttribute(name) ?? "0") || 0;
  return { x: attr("x"), y: attr("y"), width: attr("width"), height: attr("height") };
}

function applyElement(b: Bound, values: (TagUpdate | undefined)[]) {
  const { el, spec } = b;
  for (const binding of spec.bindings) {
    switch (binding.kind) {
      case "text": {
        const text = pictureText(values[binding.tag], binding.decimals, binding.unit);
        // The text node alone: a <title> tooltip beside it stays.
        const node = [...el.childNodes].find((c) => c.nodeType === Node.TEXT_NODE);
        if (node) {
          if (node.textContent !== text) node.textContent = text;
        } else el.insertBefore(document.createTextNode(text), el.firstChild);
        break;
      }
      case "fill":
      case "stroke": {
        let colour: string | null = null;
        for (const r of binding.rules) if (holds(r.test, values[r.tag])) colour = r.colour;
        // No rule holds: the picture's own colour.
        el.style.setProperty(binding.kind, colour);
        break;
      }
      case "level": {
        const v = number(values[binding.tag]);
        const f = v === null ? 0 : fraction(v, binding.from, binding.to);
        if (b.box) {
          if (binding.axis === "y") {
            const h = b.box.height * f;
            el.setAttribute("height", String(h));
            el.setAttribute("y", String(b.box.y + b.box.height - h));
          } else {
            el.setAttribute("width", String(b.box.width * f));
          }
        } else {
          el.style.transformBox = "fill-box";
          el.style.transformOrigin = binding.axis === "y" ? "bottom" : "left";
          el.style.transform = binding.axis === "y" ? `scaleY(${f})` : `scaleX(${f})`;
        }
        break;
      }
      case "visible":
        el.style.display = holds(binding.test, values[binding.tag]) ? "" : "none";
        break;
      case "rotate": {
        const v = number(values[binding.tag]);
        const f = v === null ? 0 : fraction(v, binding.valueFrom, binding.valueTo);
        const angle = binding.angleFrom + f * (binding.angleTo - binding.angleFrom);
        el.style.transformBox = "fill-box";
        el.style.transformOrigin = "center";
        el.style.transform = `rotate(${angle}deg)`;
        break;
      }
      case "click":
        break;
    }
  }
  applyQuality(b, values);
}

/** Bad or uncertain quality of any of the element's tags: one class everywhere (greyed and hatched by
 * the style sheet) and the cause in a tooltip. */
function applyQuality(b: Bound, values: (TagUpdate | undefined)[]) {
  let worst: "good" | "uncertain" | "bad" = "good";
  const causes: string[] = [];
  for (const t of b.spec.tags) {
    const u = values[t];
    if (!u || u.q === "good") continue;
    if (u.q === "bad" || worst === "good") worst = u.q;
    causes.push(describeCause(u.cause));
  }
  b.el.classList.toggle("pw-bad", worst === "bad");
  b.el.classList.toggle("pw-uncertain", worst === "uncertain");
  if (worst === "good") {
    if (b.title) {
      b.title.remove();
      b.title = null;
    }
    return;
  }
  if (!b.title) {
    b.title = document.createElementNS(SVG_NS, "title");
    b.el.appendChild(b.title);
  }
  const text = [...new Set(causes)].join("; ");
  if (b.title.textContent !== text) b.title.textContent = text;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** The hatching that bad quality fills with (`.pw-bad` in styles.css). */
function hatch(): SVGDefsElement {
  const defs = document.createElementNS(SVG_NS, "defs");
  const pattern = document.createElementNS(SVG_NS, "pattern");
  pattern.setAttribute("id", "pw-hatch");
  pattern.setAttribute("width", "8");
  pattern.setAttribute("height", "8");
  pattern.setAttribute("patternUnits", "userSpaceOnUse");
  pattern.setAttribute("patternTransform", "rotate(45)");
  const back = document.createElementNS(SVG_NS, "rect");
  back.setAttribute("width", "8");
  back.setAttribute("height", "8");
  back.setAttribute("fill", "#bbb");
  const line = document.createElementNS(SVG_NS, "rect");
  line.setAttribute("width", "3");
  line.setAttribute("height", "8");
  line.setAttribute("fill", "#777");
  pattern.append(back, line);
  defs.append(pattern);
  return defs;
}

/** Parses a sanitised picture into an SVG element for the page (an XML parse: what the Rust side wrote
 * is XML, and nothing parsed this way runs). */
export function svgElement(screen: ScreenView): SVGSVGElement | null {
  const doc = new DOMParser().parseFromString(screen.svg, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length > 0) return null;
  const svg = document.importNode(root, true) as unknown as SVGSVGElement;
  // Scaled to the window, whole and centred, from a panel PC to 4K.
  svg.setAttribute("width", "100%");
  svg.setAttribute("height", "100%");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.insertBefore(hatch(), svg.firstChild);
  return svg;
}

/** The picture as shown, for an export: its current values and the quality marks (as a style sheet of
 * its own, since the page's does not travel with the file). */
export function exportText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const style = document.createElementNS(SVG_NS, "style");
  style.textContent =
    ".pw-bad { fill: url(#pw-hatch) !important; opacity: 0.75 } .pw-uncertain { opacity: 0.6 } text.pw-bad { fill: #777 !important }";
  copy.insertBefore(style, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}
