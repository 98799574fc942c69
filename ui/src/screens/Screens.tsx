// The plant as a picture (issue 16): the open plant's process pictures, the first its home screen. The
// SVG arrives sanitised with its bindings parsed; this screen inserts it, scales it to the window and lets
// a PictureBinder apply each live batch to the elements whose tags changed. A click opens the tag's trend
// or its write control.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ScreenFormat, ScreenView, TagInfo, UiError } from "../bindings/ipc";
import { Modal } from "../components/Modal";
import { WriteControl } from "../components/WriteControl";
import { useServices } from "../context";
import { exportText, PictureBinder, svgElement, unacknowledgedTags } from "../picture";
import { useT } from "../i18n";
import { tagName } from "../plant-text";
import { writableBy } from "../write";

/** The update cost of a picture, kept on its element for the benchmark and the e2e test to read. */
function record(el: HTMLElement, ms: number, touched: number) {
  const d = el.dataset;
  const n = Number(d.updates ?? "0") + 1;
  d.updates = String(n);
  d.updateMsTotal = String(Number(d.updateMsTotal ?? "0") + ms);
  d.updateMsMax = String(Math.max(Number(d.updateMsMax ?? "0"), ms));
  d.touched = String(touched);
}

export function Screens({ screens }: { screens: ScreenView[] }) {
  const t = useT();
  const { backend, store, go, session } = useServices();
  const [current, setCurrent] = useState(0);
  const [exported, setExported] = useState("");
  const [writeTag, setWriteTag] = useState<TagInfo | null>(null);
  const host = useRef<HTMLDivElement>(null);
  const view = screens[Math.min(current, screens.length - 1)];

  useEffect(() => {
    const el = host.current;
    if (!el || !view || view.problem) return;
    const svg = svgElement(view);
    if (!svg) return;
    el.replaceChildren(svg);
    const binder = new PictureBinder(svg, view);
    const plantTags = store.plant?.tags ?? [];
    let alarms = store.alarms;
    binder.apply(store.values, null);
    binder.applyAlarms(unacknowledgedTags(alarms, plantTags));
    el.dataset.ready = "true";
    const off = store.subscribe(() => {
      const start = performance.now();
      binder.apply(store.values, store.lastChanged);
      if (store.alarms !== alarms) {
        alarms = store.alarms;
        binder.applyAlarms(unacknowledgedTags(alarms, plantTags));
      }
      record(el, performance.now() - start, binder.touched);
    });
    const onClick = (e: MouseEvent) => {
      const click = binder.clickAt(e.target as Element | null);
      if (!click) return;
      if (click.action === "trend") go("trends", [click.tag]);
      else setWriteTag(store.plant?.tags[click.tag] ?? null);
    };
    el.addEventListener("click", onClick);
    return () => {
      off();
      el.removeEventListener("click", onClick);
      el.replaceChildren();
      delete el.dataset.ready;
    };
  }, [view, store]);

  if (!view) return <p class="muted">{t("pictures.none")}</p>;

  const exportPicture = async (format: ScreenFormat) => {
    const svg = host.current?.querySelector("svg");
    if (!svg) return;
    try {
      setExported(t("pictures.saved", { path: await backend.exportScreen(view.id, exportText(svg as SVGSVGElement), format) }));
    } catch (e) {
      setExported(t("pictures.notSaved", { message: (e as UiError).message }));
    }
  };
  return (
    <section aria-label={t("pictures.label")} class="pictures">
      <div class="toolbar">
        {screens.length > 1 &&
          screens.map((s, i) => (
            <button aria-current={i === current ? "page" : undefined} onClick={() => setCurrent(i)} data-testid="picture-tab">
              {s.title}
            </button>
          ))}
        <span class="grow muted" data-testid="picture-exported">
          {exported}
        </span>
        {!view.problem && (
          <>
            <button onClick={() => exportPicture("svg")} data-testid="picture-export" title={t("pictures.exportSvgHint")}>
              {t("pictures.exportSvg")}
            </button>
            <button
              onClick={() => exportPicture("png")}
              data-testid="picture-export-png"
              title={t("pictures.exportPngHint")}
            >
              {t("pictures.exportPng")}
            </button>
          </>
        )}
      </div>
      {view.problem ? (
        <div class="error-box" role="alert" data-testid="picture-problem">
          <p>{t("pictures.cannotShow", { title: view.title })}</p>
          <pre>{view.problem}</pre>
        </div>
      ) : (
        <div class="picture" ref={host} data-testid="picture" data-screen-id={view.id} />
      )}
      {writeTag && (
        <Modal title={t("pictures.write", { name: tagName(writeTag) })} testId="picture-write" onCancel={() => setWriteTag(null)}>
          <p class="muted">{writeTag.id}</p>
          {writableBy(writeTag, session) ? (
            <WriteControl tag={writeTag} />
          ) : (
            <p data-testid="picture-write-denied">
              {!writeTag.write
                ? t("pictures.readOnly")
                : !session.users
                  ? t("pictures.noUsers")
                  : session.user
                    ? t("pictures.roleMayNot", { role: t(`role.${session.role}`) })
                    : t("pictures.signIn")}
            </p>
          )}
          <button onClick={() => setWriteTag(null)}>{t("common.close")}</button>
        </Modal>
      )}
    </section>
  );
}
