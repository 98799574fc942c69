// The window: plant name and screen tabs, the alarm banner, and the current screen.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Language, PlantInfo, ScreenView, SessionView, Settings, UiError } from "./bindings/ipc";
import { AlarmBanner } from "./components/AlarmBanner";
import { PlantMenu } from "./components/PlantMenu";
import { SessionBar } from "./components/SessionBar";
import { DEFAULT_SETTINGS, NO_SESSION, Services, type AppServices } from "./context";
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
import { Reports } from "./screens/Reports";
import { PlantFiles } from "./screens/PlantFiles";
import { Audit } from "./screens/Audit";
import { Screens } from "./screens/Screens";
import { Workbench } from "./screens/Workbench";
import { LanguageSwitch } from "./components/LanguageSwitch";
import { currentLanguage, setLanguage, systemLanguage, useT } from "./i18n";

/** The screens in the navigation's order; each id names its title in the catalogs (`screens.<id>`). */
export const SCREENS = [
  { id: "screens" },
  { id: "overview" },
  { id: "tags" },
  { id: "trends" },
  { id: "devices" },
  { id: "alarms" },
  { id: "journal" },
  { id: "plant" },
  { id: "health" },
  { id: "reports" },
  { id: "workbench" },
  { id: "audit" },
] as const;

/** How often the page asks who is signed in (and says whether the user used the window meanwhile):
 * the idle lock shows within this time. */
export const SESSION_POLL_MS = 5000;

/** Screens that work on the machine the window runs on (its plant files, its serial ports, its export
 * folder): not in a browser. */
const WINDOW_ONLY = new Set<string>(["plant", "workbench", "reports"]);

/** The screens a session may open: the audit trail only for engineers and admins, the process pictures
 * only on a plant that has some, the window-only screens not in a browser (Alt+N counts the screens
 * shown). */
export function screensFor(session: SessionView, pictures = false, browser = false) {
  return SCREENS.filter(
    (s) =>
      (s.id !== "audit" || session.audit) &&
      (s.id !== "screens" || pictures) &&
      (!browser || !WINDOW_ONLY.has(s.id)),
  );
}

export function App({ backend, store }: { backend: Backend; store: LiveStore }) {
  const t = useT();
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  const [screen, setScreen] = useState<string>("overview");
  const [plant, setPlant] = useState<PlantInfo | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [trendPens, setTrendPens] = useState<number[]>([]);
  const [session, setSession] = useState<SessionView>(NO_SESSION);
  const [pictures, setPictures] = useState<ScreenView[]>([]);
  const picturesRef = useRef(pictures);
  picturesRef.current = pictures;
  const screenRef = useRef(screen);
  screenRef.current = screen;
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const saveSettings = (patch: Partial<Settings>) => {
    const next = { ...settingsRef.current, ...patch };
    setSettings(next);
    backend.settingsSet(next).catch(() => {});
  };

  const go = (id: string, pens?: number[]) => {
    if (!screensFor(sessionRef.current, picturesRef.current.length > 0, backend.place === "browser").some((s) => s.id === id)) return;
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
    // A plant with pictures opens on its first, the home screen (unless another screen was chosen).
    const shown = await backend.plantScreens().catch(() => [] as ScreenView[]);
    picturesRef.current = shown;
    setPictures(shown);
    if (shown.length > 0 && screenRef.current === "overview") setScreen("screens");
    // Another plant has other users: whoever was signed in is not any more.
    backend.session(false).then(setSession, () => {});
  };

  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        const mark = (step: string) => (document.documentElement.dataset.init = step);
        mark("settings");
        const s = await backend.settingsGet();
        if (!alive) return;
        // The first start follows the system's language and keeps it (the Rust side writes notifications
        // and chart exports in it too); a choice made in the window is kept.
        const language = s.language ?? systemLanguage(navigator.languages ?? [navigator.language]);
        await setLanguage(language).catch(() => {});
        if (!alive) return;
        if (s.language === null) backend.settingsSet({ ...s, language }).catch(() => {});
        setSettings({ ...s, language });
        // The audit screen needs a sign-in first: the window never opens on it.
        if (screensFor(NO_SESSION, true, backend.place === "browser").some((x) => x.id === s.lastScreen)) setScreen(s.lastScreen);
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

  const chooseLanguage = (language: Language) => {
    setLanguage(language)
      .then(() => saveSettings({ language }))
      .catch((e) => setError({ code: "io", message: String(e), problems: [] }));
  };

  // The idle lock: the page tells the Rust side whether the user touched a key or the pointer since the
  // last ask, and shows the session it gets back (which is signed out once the idle time has passed).
  useEffect(() => {
    let used = false;
    const mark = () => (used = true);
    window.addEventListener("keydown", mark, true);
    window.addEventListener("pointerdown", mark, true);
    const id = setInterval(() => {
      const active = used;
      used = false;
      backend.session(active).then(setSession, () => {});
    }, SESSION_POLL_MS);
    return () => {
      clearInterval(id);
      window.removeEventListener("keydown", mark, true);
      window.removeEventListener("pointerdown", mark, true);
    };
  }, [backend]);

  // A screen the session may no longer open (the audit after a sign-out) gives way to the overview.
  useEffect(() => {
    if (!screensFor(session, pictures.length > 0, backend.place === "browser").some((s) => s.id === screen)) setScreen("overview");
  }, [session, screen, pictures]);

  // Full keyboard use: Alt+1..9 switch screens from anywhere (the audit only when the session may).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && !e.ctrlKey && /^[1-9]$/.test(e.key)) {
        const s = screensFor(sessionRef.current, picturesRef.current.length > 0, backend.place === "browser")[Number(e.key) - 1];
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
    () => ({ backend, store, settings, saveSettings, go, session, setSession }),
    [backend, store, settings, session],
  );

  return (
    <Services.Provider value={services}>
      <div class="app">
        <header class="topbar">
          <div class="plant" data-testid="plant-name">
            {plant ? plant.name : t("app.name")}
            {plant?.simulated && <small>{t("app.simulated")}</small>}
          </div>
          <nav class="screens" aria-label={t("app.screensNav")} data-testid="screen-nav">
            {screensFor(session, pictures.length > 0, backend.place === "browser").map((s, i) => (
              <button
                aria-current={screen === s.id ? "page" : undefined}
                onClick={() => go(s.id)}
                data-screen={s.id}
                title={t("app.screenHint", { title: t(`screens.${s.id}`), key: i + 1 })}
              >
                {t(`screens.${s.id}`)}
                <kbd>{i + 1}</kbd>
              </button>
            ))}
          </nav>
          {backend.place !== "browser" && (
            <PlantMenu onOpened={(p) => showPlant(p).catch((e) => setError(e))} onError={setError} />
          )}
          <SessionBar />
          <LanguageSwitch language={currentLanguage()} onChoose={chooseLanguage} />
          <button
            onClick={() => saveSettings({ theme: settings.theme === "dark" ? "light" : "dark" })}
            title={t("app.themeHint")}
            class="theme"
            data-testid="theme-toggle"
          >
            {settings.theme === "dark" ? t("app.lightTheme") : t("app.darkTheme")}
          </button>
        </header>
        <AlarmBanner />
        <main class="screen" data-testid={`screen-${screen}`}>
          {error && (
            <div class="error-box" role="alert">
              {error.message}
            </div>
          )}
          {screen === "screens" && <Screens screens={pictures} />}
          {screen === "overview" && <Overview />}
          {screen === "tags" && <Tags />}
          {screen === "trends" && <Trends initialPens={trendPens} />}
          {screen === "devices" && <Devices />}
          {screen === "alarms" && <Alarms />}
          {screen === "journal" && <Journal />}
          {screen === "health" && <Health />}
          {screen === "reports" && <Reports />}
          {screen === "audit" && <Audit />}
          {screen === "workbench" && <Workbench onOpened={(p) => showPlant(p).catch((e) => setError(e))} />}
          {screen === "plant" && <PlantFiles onOpened={(p) => showPlant(p).catch((e) => setError(e))} />}
        </main>
      </div>
    </Services.Provider>
  );
}
