// A small line of a tag's recent readings, drawn on a canvas (cheap to redraw ten times a second).
import { useEffect, useRef } from "preact/hooks";
import type { Ring } from "../live";

export function Sparkline({ ring, version }: { ring: Ring | undefined; version: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !ring) return;
    const ctx = c.getContext?.("2d");
    if (!ctx) return;
    const w = (c.width = c.clientWidth || 200);
    const h = (c.height = c.clientHeight || 36);
    ctx.clearRect(0, 0, w, h);
    const n = ring.values.length;
    if (n < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of ring.values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const t0 = ring.times[0];
    const span = Math.max(1, ring.times[n - 1] - t0);
    ctx.strokeStyle = getComputedStyle(c).color || "#4fb3a9";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = ((ring.times[i] - t0) / span) * (w - 2) + 1;
      const y = h - 2 - ((ring.values[i] - lo) / (hi - lo)) * (h - 4);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }, [ring, version]);
  return <canvas class="sparkline" ref={canvas} aria-hidden="true" style={{ color: "var(--accent)" }} />;
}
