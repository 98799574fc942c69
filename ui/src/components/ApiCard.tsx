// The plant's local API on the Devices screen: where plant apps (and, with `browser = true`, browsers on
// other PCs) reach it, and the clear-text warning. Absent for a plant without `[api]`, and in a browser
// (which is on that address already).
import { useEffect, useState } from "preact/hooks";
import type { ApiView } from "../bindings/ipc";
import { useServices } from "../context";
import { useT } from "../i18n";

export function ApiCard() {
  const { backend, store } = useServices();
  const plant = store.plant;
  const [view, setView] = useState<ApiView | null>(null);
  useEffect(() => {
    let live = true;
    backend
      .apiStatus()
      .then((v) => live && setView(v))
      .catch(() => live && setView(null));
    return () => {
      live = false;
    };
  }, [backend, plant]);
  if (!view) return null;
  return <ApiFacts view={view} />;
}

export function ApiFacts({ view }: { view: ApiView }) {
  const t = useT();
  return (
    <div class="card" data-testid="api-card">
      <div class="title">
        <span>{t("api.title")}</span>
        <span class="state state-online">{t("api.serving")}</span>
      </div>
      <dl class="facts">
        <dt>{t("api.url")}</dt>
        <dd data-testid="api-url">{view.url}</dd>
        {view.screensUrl && (
          <>
            <dt>{t("api.screens")}</dt>
            <dd data-testid="api-screens-url">{view.screensUrl}</dd>
          </>
        )}
      </dl>
      {view.insecure && (
        <p class="error-box" data-testid="api-insecure">
          {t("api.insecure")}
        </p>
      )}
    </div>
  );
}
