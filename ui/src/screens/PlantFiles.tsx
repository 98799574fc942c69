// Plant files: open a plant config, see its validation errors in place, reload without restarting,
// reopen a recent plant, or go back to the simulated plant.
import { useState } from "preact/hooks";
import type { ConfigProblem, PlantFileReport, PlantInfo, UiError } from "../bindings/ipc";
import { useLive, useServices } from "../context";
import { useT } from "../i18n";

/** The file's lines with each problem attached to its line (problems past the end go on the last). */
export function linesWithProblems(text: string, problems: ConfigProblem[]) {
  const lines = text.split("\n");
  const byLine = new Map<number, ConfigProblem[]>();
  for (const p of problems) {
    const line = Math.min(Math.max(p.line, 1), lines.length);
    byLine.set(line, [...(byLine.get(line) ?? []), p]);
  }
  return lines.map((content, i) => ({ number: i + 1, content, problems: byLine.get(i + 1) ?? [] }));
}

export function PlantFiles({ onOpened }: { onOpened: (p: PlantInfo) => void }) {
  const t = useT();
  const store = useLive();
  const { backend, settings } = useServices();
  const [path, setPath] = useState(store.plant?.source ?? "");
  const [report, setReport] = useState<PlantFileReport | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");

  const run = async (what: () => Promise<PlantInfo>, done: "plant.opened" | "plant.reloaded") => {
    setBusy(true);
    setError(null);
    setMessage("");
    try {
      const info = await what();
      setReport(null);
      onOpened(info);
      setMessage(t(done, { name: info.name, devices: info.devices.length, tags: info.tags.length }));
    } catch (e) {
      const err = e as UiError;
      setError(err);
      if (err.code === "configInvalid" && path) {
        try {
          setReport(await backend.checkPlant(path));
        } catch {
          setReport(null);
        }
      }
    } finally {
      setBusy(false);
    }
  };

  const open = (p: string) => {
    setPath(p);
    return run(() => backend.openPlant(p), "plant.opened");
  };

  /** The native open dialog (Rust side); a chosen file is opened at once. */
  const browse = async () => {
    try {
      const chosen = await backend.pickPlantFile();
      if (chosen) await open(chosen);
    } catch (e) {
      setError(e as UiError);
    }
  };

  return (
    <section aria-label={t("plant.label")}>
      <h2>{t("plant.title")}</h2>
      <p>
        {t("plant.open")} <strong>{store.plant?.name ?? "—"}</strong>{" "}
        <span class="muted">{store.plant?.source ?? (store.plant?.simulated ? t("plant.builtIn") : "")}</span>
      </p>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          open(path);
        }}
      >
        <input
          class="grow"
          placeholder={t("plant.pathPlaceholder")}
          aria-label={t("plant.pathLabel")}
          data-testid="plant-path"
          value={path}
          onInput={(e) => setPath((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" disabled={busy || path.trim() === ""} data-testid="open-plant">
          {t("plant.openButton")}
        </button>
        <button type="button" disabled={busy} onClick={browse} title={t("plant.browseHint")} data-testid="browse-plant">
          {t("plant.browse")}
        </button>
        <button
          type="button"
          disabled={busy || !store.plant?.source}
          onClick={() => run(() => backend.reloadPlant(), "plant.reloaded")}
          data-testid="reload-plant"
        >
          {t("plant.reload")}
        </button>
        <button type="button" disabled={busy} onClick={() => run(() => backend.openPlant(null), "plant.opened")}>
          {t("plant.simulated")}
        </button>
      </form>
      {message && <p class="note" data-testid="plant-message">{message}</p>}
      {error && (
        <div class="error-box" role="alert" data-testid="plant-error">
          {error.message}
        </div>
      )}
      {report && report.problems.length > 0 && (
        <div>
          <h3>
            {t("plant.problems", { path: report.path, count: report.problems.length })}
          </h3>
          <div class="plant-file" data-testid="plant-file">
            {linesWithProblems(report.text, report.problems).map((l) => (
              <div class={`line ${l.problems.length > 0 ? "err" : ""}`}>
                <span class="ln">{l.number}</span>
                <span>{l.content}</span>
                {l.problems.map((p) => (
                  <span class="problem" data-testid="plant-problem">
                    {"^".padStart(Math.max(1, p.col), " ")} {t("plant.problemAt", { line: p.line, col: p.col, message: p.message })}
                  </span>
                ))}
              </div>
            ))}
          </div>
        </div>
      )}
      <h3>{t("plant.recent")}</h3>
      {settings.recentPlants.length === 0 ? (
        <p class="muted">{t("common.noneYet")}</p>
      ) : (
        <ul>
          {settings.recentPlants.map((p) => (
            <li>
              <button onClick={() => open(p)} disabled={busy}>
                {p}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
