// The window's language: i18next with our two catalogs. English is bundled (the window's first paint and
// the tests need no wait); Simplified Chinese is a chunk of its own, loaded the first time it is chosen.
// Components call `useT()`, which re-renders them when the language changes, so a switch needs no restart.
import i18next from "i18next";
import { useEffect, useState } from "preact/hooks";
import type { Language } from "../bindings/ipc";
import en from "./en.json";

/** The languages the window speaks, in the order the switch offers them. */
export const LANGUAGES: readonly Language[] = ["en", "zh-CN"];

// Keys are checked at compile time against the English catalog: a typo or a removed key fails `tsc`.
declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: typeof en };
  }
}

/** Each catalog but English, loaded on first use (Vite makes each a chunk of its own). */
const LAZY: Record<Exclude<Language, "en">, () => Promise<{ default: unknown }>> = {
  "zh-CN": () => import("./zh-CN.json"),
};

export const i18n = i18next.createInstance();
i18n.init({
  lng: "en",
  fallbackLng: "en",
  supportedLngs: [...LANGUAGES],
  resources: { en: { translation: en } },
  partialBundledLanguages: true,
  // Preact escapes text itself; i18next's own escaping would show "&amp;" on screen.
  interpolation: { escapeValue: false },
  returnNull: false,
  // The resources are in memory: init completes before the first render.
  initAsync: false,
});

/** Translates a key of the catalogs in the current language. */
export const t = i18n.t.bind(i18n);

/** The language of the system (the webview's `navigator.languages`): any Chinese -> zh-CN, else English. */
export function systemLanguage(languages: readonly string[]): Language {
  const first = languages.find((l) => l.trim() !== "") ?? "en";
  return first.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** The language in force. */
export function currentLanguage(): Language {
  return i18n.language === "zh-CN" ? "zh-CN" : "en";
}

/** Loads the language's catalog if need be and switches every `useT()` component to it. */
export async function setLanguage(language: Language): Promise<void> {
  if (language !== "en" && !i18n.hasResourceBundle(language, "translation")) {
    const catalog = await LAZY[language]();
    i18n.addResourceBundle(language, "translation", catalog.default, true, true);
  }
  await i18n.changeLanguage(language);
  document.documentElement.lang = language;
}

/**
 * The locale for `Intl` (dates, times, numbers): the system's own regional variant when it speaks the
 * chosen language (en-GB, en-US), else the language itself.
 */
export function intlLocale(): string {
  const language = currentLanguage();
  const prefix = language === "en" ? "en" : "zh";
  const system = typeof navigator === "undefined" ? [] : (navigator.languages ?? []);
  const regional = language === "en" ? system.find((l) => l.toLowerCase().startsWith(`${prefix}-`)) : undefined;
  try {
    return regional ? Intl.getCanonicalLocales(regional)[0] : language;
  } catch {
    return language;
  }
}

/** The translate function for a component, which re-renders whenever the language changes. */
export function useT(): typeof t {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const changed = () => setVersion((v) => v + 1);
    i18n.on("languageChanged", changed);
    return () => i18n.off("languageChanged", changed);
  }, []);
  return t;
}
