// Trends: several pens on one chart, live (scrolling) or historical, thinned on the Rust side to one
// bucket per pixel column with min/max bands; zoom by dragging, pan with the arrows; export.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { ExportFormat, TagInfo, TrendData, TrendRequest, UiError } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { numeric } from "../live";
import { currentShift, pan, SPANS, today, zoom, type Range } from "../trend-range";
import { formatAxisTime, formatDateTime, formatFixed } from "../format";
import { currentLanguage, intlLocale, useT } from "../i18n";
import { alarmKind } from "../i18n/words";
import { tagName } from "../plant-text";

const PEN_COLOURS = ["#4fb3a9", "#ff9f1a", "#66a3ff", "#e05cd8", "#f5d90a", "#8bd450", "#ff6b6b", "#b0b8c4"];
const PRIORITY_COLOURS: Record<string, string> = {
  critical: "#ff4d4f",
  high: "#ff9f1a",
  medium: "#f5d90a",
  low: "#66a3ff",
};

/** Builds uPlot's columns: x in seconds, then per pen avg, min, max. */
export function toColumns(data: TrendData): uPlot.AlignedData {
  const cols: (number | null)[][] = [data.time.map((t) => t / 1000)];
  for (const p of data.pens) cols.push(p.avg, p.min, p.max);
  return cols as uPlot.AlignedData;
}

export function Trends({ initialPens }: { initialPens: number[] }) {
  const t = useT();
  const store = useLive();
  const { backend } = useServices();
  const plant = store.plant;
  const numericTags = useMemo(
    () => (plant ? plant.tags.filter((tag) => tag.valueType !== "string") : []),
    [plant],
  );
  const [pens, setPens] = useState<number[]>(() =>
    initialPens.length > 0 ? initialPens : numericTags.filter((tag) => tag.alarms.length > 0).slice(0, 2).map((tag) => tag.index),
  );
  const [span, setSpan] = useState(10 * 60_000);
  const [live, setLive] = useState(true);
  const [range, setRange] = useState<Range>(() => ({ from: Date.now() - span, to: Date.now() }));
  const [filter, setFilter] = useState("");
  const [status, setStatus] = useState<string>("");
  const [error, setError] = useState<UiError | null>(null);
  const [drawMs, setDrawMs] = useState<number | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const inflight = useRef(0);

  const penTags: TagInfo[] = pens.flatMap((i) => plant?.tags[i] ?? []);

  const request = (r: Range): TrendRequest => ({
    tags: pens,
    from: Math.round(r.from),
    to: Math.round(r.to),
    columns: Math.max(100, Math.min(2000, box.current?.clientWidth ?? 1000)),
  });

  // (Re)build the chart when the pens change.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Time in the window's locale: the legend's reading and the axis' ticks (uPlot's own are English).
    const series: uPlot.Series[] = [{ label: t("trends.time"), value: (_u, v) => (v === null ? "--" : formatDateTime(v * 1000)) }];
    const bands: uPlot.Band[] = [];
    penTags.forEach((tag, k) => {
      const colour = PEN_COLOURS[k % PEN_COLOURS.length];
      const base = 1 + k * 3;
      series.push(
        { label: `${tag.id}${tag.unit ? ` (${tag.unit})` : ""}`, stroke: colour, width: 2, spanGaps: true },
        { label: t("trends.penMin", { id: tag.id }), stroke: colour + "55", width: 1, spanGaps: true },
        { label: t("trends.penMax", { id: tag.id }), stroke: colour + "55", width: 1, spanGaps: true },
      );
      bands.push({ series: [base + 2, base + 1], fill: colour + "33" });
    });
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth - 16),
      height: Math.max(240, window.innerHeight - 330),
      series,
      bands,
      scales: { x: { time: true } },
      axes: [
        {
          stroke: "#9aa4b2",
          grid: { stroke: "#9aa4b233" },
          values: (_u, splits, _axis, _space, step) => splits.map((x) => formatAxisTime(x * 1000, step)),
        },
        { stroke: "#9aa4b2", grid: { stroke: "#9aa4b233" }, size: 70 },
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, "x") * 1000;
            const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            setLive(false);
            setRange({ from, to });
          },
        ],
        draw: [
          (u) => {
            // Alarm limits of every pen as dashed lines in the priority's colour.
            const ctx = u.ctx;
            ctx.save();
            ctx.setLineDash([8, 6]);
            ctx.lineWidth = 1.5;
            for (const tag of penTags) {
              for (const a of tag.alarms) {
                if (a.limit === null) continue;
                const y = u.valToPos(a.limit, "y", true);
                if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
                ctx.strokeStyle = PRIORITY_COLOURS[a.priority];
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, y);
                ctx.lineTo(u.bbox.left + u.bbox.width, y);
                ctx.stroke();
                ctx.fillStyle = PRIORITY_COLOURS[a.priority];
                ctx.fillText(`${alarmKind(a.kind)} ${a.limit}`, u.bbox.left + 4, y - 4);
              }
            }
            ctx.restore();
          },
        ],
      },
    };
    chart.current?.destroy();
    chart.current = new uPlot(opts, [[], ...penTags.flatMap(() => [[], [], []])] as uPlot.AlignedData, el);
    // Follow the window's size (the chart is drawn on a canvas of fixed pixels).
    const ro =
      typeof ResizeObserver !== "undefined"
        ? new ResizeObserver(() =>
            chart.current?.setSize({ width: Math.max(300, el.clientWidth - 16), height: Math.max(240, window.innerHeight - 330) }),
          )
        : null;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [pens.join(","), plant, currentLanguage()]);

  // Fetch the history for the range (and again every few seconds while live).
  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      const r = live ? { from: Date.now() - span, to: Date.now() } : range;
      if (pens.length === 0) return;
      const id = ++inflight.current;
      const started = performance.now();
      try {
        const data = await backend.trendHistory(request(r));
        if (cancelled || id !== inflight.current || !chart.current) return;
        const cols = toColumns(data);
        if (live) appendLive(cols, r.to);
        chart.current.setData(cols, true);
        chart.current.setScale("x", { min: r.from / 1000, max: r.to / 1000 });
        const ms = performance.now() - started;
        setDrawMs(ms);
        setError(null);
        const samples = data.pens.reduce((n, p) => n + p.count.reduce((a, b) => a + b, 0), 0);
        setStatus(
          t("trends.status", {
            samples: samples.toLocaleString(intlLocale()),
            columns: data.time.length,
            queryMs: formatFixed(data.queryMs, 0),
            drawMs: formatFixed(ms, 0),
          }),
        );
      } catch (e) {
        if (!cancelled) setError(e as UiError);
      }
    };
    load();
    if (!live) return () => void (cancelled = true);
    const every = span <= 3_600_000 ? 1000 : 10_000;
    const id = setInterval(load, every);
    return () => {
      cancelled = true;
      clearInterval(id);
    };
  }, [pens.join(","), live, span, range.from, range.to, plant]);

  /** While live, the newest readings from the live store close the line up to now. */
  const appendLive = (cols: uPlot.AlignedData, now: number) => {
    const x = cols[0] as number[];
    x.push(now / 1000);
    pens.forEach((tag, k) => {
      const v = numeric(store.values[tag]);
      for (let j = 0; j < 3; j++) (cols[1 + k * 3 + j] as (number | null)[]).push(v);
    });
  };

  const current = (): Range => (live ? { from: Date.now() - span, to: Date.now() } : range);
  const setView = (r: Range) => {
    setLive(false);
    setRange(r);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowLeft") setView(pan(current(), -0.25));
    else if (e.key === "ArrowRight") setView(pan(current(), 0.25));
    else if (e.key === "+" || e.key === "=") setView(zoom(current(), 0.5));
    else if (e.key === "-") setView(zoom(current(), 2));
    else return;
    e.preventDefault();
  };

  const doExport = async (format: ExportFormat) => {
    try {
      const path = await backend.exportTrend(request(current()), format);
      setStatus(t("trends.saved", { format: format.toUpperCase(), path }));
    } catch (e) {
      setError(e as UiError);
    }
  };

  if (!plant) return <p class="muted">{t("app.openingPlant")}</p>;
  const needle = filter.toLowerCase();

  return (
    <section aria-label={t("trends.label")} class="trend-layout">
      <aside>
        <h2>{t("trends.pens")}</h2>
        <input
          type="search"
          placeholder={t("trends.findTag")}
          aria-label={t("trends.findTagLabel")}
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
        <div class="pen-list" role="group" aria-label={t("trends.pens")}>
          {numericTags
            .filter(
              (tag) =>
                needle === "" ||
                tag.id.toLowerCase().includes(needle) ||
                tag.name.toLowerCase().includes(needle) ||
                (tag.nameZh ?? "").toLowerCase().includes(needle),
            )
            .slice(0, 300)
            .map((tag) => (
              <label title={tagName(tag)}>
                <input
                  type="checkbox"
                  checked={pens.includes(tag.index)}
                  data-testid="pen-toggle"
                  data-tag={tag.id}
                  onChange={(e) => {
                    const on = (e.currentTarget as HTMLInputElement).checked;
                    setPens(on ? [...pens, tag.index].slice(-8) : pens.filter((p) => p !== tag.index));
                  }}
                />
                {tag.id}
              </label>
            ))}
        </div>
      </aside>
      <div>
        <div class="toolbar" role="toolbar" aria-label={t("trends.range")}>
          <button class={live ? "primary" : ""} aria-pressed={live} onClick={() => setLive(true)} data-testid="trend-live">
            {t("trends.live")}
          </button>
          {SPANS.map((s) => (
            <button
              aria-pressed={span === s.span}
              data-testid={`span-${s.id}`}
              onClick={() => {
                setSpan(s.span);
                if (!live) setRange({ from: range.to - s.span, to: range.to });
              }}
            >
              {t(`trends.span.${s.id}`)}
            </button>
          ))}
          <button onClick={() => setView(currentShift(Date.now()))} data-testid="preset-shift">
            {t("trends.thisShift")}
          </button>
          <button onClick={() => setView(today(Date.now()))} data-testid="preset-day">
            {t("trends.today")}
          </button>
          <button onClick={() => setView(pan(current(), -0.5))} title={t("trends.back")} aria-label={t("trends.backLabel")}>
            ◀
          </button>
          <button onClick={() => setView(pan(current(), 0.5))} title={t("trends.forward")} aria-label={t("trends.forwardLabel")}>
            ▶
          </button>
          <button onClick={() => setView(zoom(current(), 2))} title={t("trends.zoomOutHint")}>
            {t("trends.zoomOut")}
          </button>
          <span class="grow" />
          <button onClick={() => doExport("csv")} data-testid="export-csv" title={t("trends.exportCsv")}>
            CSV
          </button>
          <button onClick={() => doExport("png")} data-testid="export-png" title={t("trends.exportPng")}>
            PNG
          </button>
          <button onClick={() => doExport("svg")} data-testid="export-svg" title={t("trends.exportSvg")}>
            SVG
          </button>
        </div>
        {error && (
          <div class="error-box" role="alert">
            {error.message}
          </div>
        )}
        <div
          class="chart-box"
          ref={box}
          tabIndex={0}
          onKeyDown={onKey}
          aria-label={t("trends.chart")}
          data-testid="trend-chart"
          data-draw-ms={drawMs === null ? "" : drawMs.toFixed(1)}
        />
        <p class="muted" data-testid="trend-status">
          {pens.length === 0 ? t("trends.pickPens") : status}
        </p>
      </div>
    </section>
  );
}
