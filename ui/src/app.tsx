// The window: plant name and screen tabs, the alarm banner, and the current screen.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { PlantInfo, Settings, UiError } from "./bindings/ipc";
import { AlarmBanner } from "./components/AlarmBanner";
import { DEFAULT_SETTINGS, Services, type AppServices } from "./context";
import { beep, shouldSound } from "./alert";
import type { Backend } from "./ipc";
import { LiveStore } from "./live";
import { Overview } from "./screens/Overview";
import { Tags } from "./screens/Tags";
import { Trends } from "./screens/Trends";
import { Devices } from "./screens/Devices";
import { Alarms } from "./screens/Alarms";
import { Journal } from "./screens/Journal";
import { Health } from "./screens/Health";
import { PlantFiles } from "./screens/PlantFiles";

export const SCREENS = [
  { id: "overview", title: "Overview" },
  { id: "tags", title: "Tags" },
  { id: "trends", title: "Trends" },
  { id: "devices", title: "Devices" },
  { id: "alarms", title: "Alarms" },
  { id: "journal", title: "Journal" },
  { id: "plant", title: "Plant files" },
  { id: "health", title: "Alarm health" },
] as const;

export function App({ backend, store }: { backend: Backend; store: LiveStore }) {
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  const [screen, setScreen] = useState<string>("overview");
  const [plant, setPlant] = useState<PlantInfo | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [trendPens, setTrendPens] = useState<number[]>([]);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;

  const saveSettings = (patch: Partial<Settings>) => {
    const next = { ...settingsRef.current, ...patch };
    setSettings(next);
    backend.settingsSet(next).catch(() => {});
  };

  const go = (id: string, pens?: number[]) => {
    if (pens) setTrendPens(pens);
    setScreen(id);
    saveSettings({ lastScreen: id });
  };

  /** Shows a newly opened plant: its tags, then a full snapshot of the live values. */
  const showPlant = async (info: PlantInfo) => {
    store.setPlant(info);
    setPlant(info);
    // Opening a plant changes the recent plants on the Rust side.
    backend.settingsGet().then((s) => setSettings((cur) => ({ ...cur, recentPlants: s.recentPlants, lastPlant: s.lastPlant })));
    const [snapshot, alarms, devices] = await Promise.all([
      backend.liveSnapshot(),
      backend.alarmSnapshot(),
      backend.deviceStatuses(),
    ]);
    store.setSnapshot(snapshot);
    store.setAlarms(alarms);
    store.setDevices(devices);
  };

  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        const mark = (step: string) => (document.documentElement.dataset.init = step);
        mark("settings");
        const s = await backend.settingsGet();
        if (!alive) return;
        setSettings(s);
        if (SCREENS.some((x) => x.id === s.lastScreen)) setScreen(s.lastScreen);
        mark("subscribe");
        await backend.liveSubscribe((batch) => {
          store.apply(batch);
          if (batch.resync) backend.liveSnapshot().then((u) => store.setSnapshot(u));
          if (shouldSound(batch, settingsRef.current.sound)) beep();
        });
        mark("plant");
        await showPlant(await backend.plantInfo());
        mark("ready");
      } catch (e) {
        setError(e as UiError);
      }
    })();
    return () => {
      alive = false;
    };
  }, []);

  // Marks when live values first reached the screen (wall clock), for the launch benchmark.
  useEffect(
    () =>
      store.subscribe(() => {
        const root = document.documentElement;
        if (!root.dataset.firstValuesAt && store.values.some((u) => u && u.v !== null)) {
          root.dataset.firstValuesAt = String(Date.now());
        }
      }),
    [store],
  );

  useEffect(() => {
    document.documentElement.dataset.theme = settings.theme;
  }, [settings.theme]);

  // Full keyboard use: Alt+1..8 switch screens from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && !e.ctrlKey && /^[1-9]$/.test(e.key)) {
        const s = SCREENS[Number(e.key) - 1];
        if (s) {
          e.preventDefault();
          go(s.id);
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const services: AppServices = useMemo(
    () => ({ backend, store, settings, saveSettings, go }),
    [backend, store, settings],
  );

  return (
    <Services.Provider value={services}>
      <div class="app">
        <header class="topbar">
          <div class="plant" data-testid="plant-name">
            {plant ? plant.name : "Plantwatch"}
            {plant?.simulated && <small>simulated</small>}
          </div>
          <nav class="screens" aria-label="Screens">
            {SCREENS.map((s, i) => (
              <button
                aria-current={screen === s.id ? "page" : undefined}
                onClick={() => go(s.id)}
                data-screen={s.id}
                title={`${s.title} (Alt+${i + 1})`}
              >
                {s.title}
                <kbd>{i + 1}</kbd>
              </button>
            ))}
          </nav>
          <button
            onClick={() => saveSettings({ theme: settings.theme === "dark" ? "light" : "dark" })}
            title="Switch between the dark and the light theme"
            data-testid="theme-toggle"
          >
            {settings.theme === "dark" ? "Light theme" : "Dark theme"}
          </button>
        </header>
        <AlarmBanner />
        <main class="screen" data-testid={`screen-${screen}`}>
          {error && (
            <div class="error-box" role="alert">
              {error.message}
            </div>
          )}
          {screen === "overview" && <Overview />}
          {screen === "tags" && <Tags />}
          {screen === "trends" && <Trends initialPens={trendPens} />}
          {screen === "devices" && <Devices />}
          {screen === "alarms" && <Alarms />}
          {screen === "journal" && <Journal />}
          {screen === "health" && <Health />}
          {screen === "plant" && <PlantFiles onOpened={(p) => showPlant(p).catch((e) => setError(e))} />}
        </main>
      </div>
    </Services.Provider>
  );
}
