// A list that renders only the rows in view (plus a few), so 10,000 tags scroll smoothly.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  /** Height of the scrolling box; the list fills it. */
  height: string;
  header?: ComponentChildren;
  renderRow: (index: number, top: number) => ComponentChildren;
  label?: string;
}

/** The first and last row (exclusive) to render for a scroll position. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 8) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last };
}

export function VirtualList(props: VirtualListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setViewport(el.clientHeight || 800);
    measure();
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(measure) : null;
    ro?.observe(el);
    return () => ro?.disconnect();
  }, []);

  // Keep the scroll position valid when the filter shrinks the list.
  useEffect(() => {
    const el = box.current;
    if (el && scrollTop > props.count * props.rowHeight) {
      el.scrollTop = 0;
      setScrollTop(0);
    }
  }, [props.count]);

  const { first, last } = visibleRange(scrollTop, viewport, props.rowHeight, props.count);
  const rows = [];
  for (let i = first; i < last; i++) rows.push(props.renderRow(i, i * props.rowHeight));

  return (
    <div
      class="vlist"
      ref={box}
      style={{ height: props.height }}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
      role="table"
      aria-label={props.label}
      aria-rowcount={props.count}
      tabIndex={0}
    >
      {props.header}
      <div class="vlist-inner" style={{ height: `${props.count * props.rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
