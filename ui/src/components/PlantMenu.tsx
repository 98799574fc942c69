// The header's plant menu: open a plant file through the system's dialog, one of the recent plants (as
// the settings keep them, at most 8), or the simulated plant, from any screen. The Plant files screen stays
// the place for typing a path, seeing a file's problems and reloading.
import { useRef } from "preact/hooks";
import type { PlantInfo, UiError } from "../bindings/ipc";
import { useServices } from "../context";
import { useT } from "../i18n";

export function PlantMenu({
  onOpened,
  onError,
}: {
  onOpened: (p: PlantInfo) => void;
  onError: (e: UiError) => void;
}) {
  const t = useT();
  const { backend, settings, go } = useServices();
  const menu = useRef<HTMLDetailsElement>(null);

  const close = () => menu.current?.removeAttribute("open");
  const open = async (path: string | null) => {
    close();
    try {
      onOpened(await backend.openPlant(path));
    } catch (e) {
      onError(e as UiError);
    }
  };
  const browse = async () => {
    close();
    try {
      const path = await backend.pickPlantFile();
      if (path !== null) await open(path);
    } catch (e) {
      onError(e as UiError);
    }
  };

  return (
    <details class="plant-menu" ref={menu} data-testid="plant-menu">
      <summary title={t("plant.menuHint")}>{t("plant.menu")}</summary>
      <div class="menu" role="menu">
        <button role="menuitem" onClick={browse} data-testid="menu-open">
          {t("plant.menuOpen")}
        </button>
        {settings.recentPlants.length > 0 && (
          <>
            <div class="menu-heading">{t("plant.menuRecent")}</div>
            {settings.recentPlants.map((p) => (
              <button role="menuitem" title={p} onClick={() => open(p)} data-testid="menu-recent">
                {p.split("/").pop()}
              </button>
            ))}
          </>
        )}
        <hr />
        <button role="menuitem" onClick={() => open(null)} data-testid="menu-simulated">
          {t("plant.simulated")}
        </button>
        <button
          role="menuitem"
          onClick={() => {
            close();
            go("plant");
          }}
        >
          {t("plant.menuFiles")}
        </button>
      </div>
    </details>
  );
}
