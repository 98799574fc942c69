// Settings before the backend's saved ones arrive: a module of its own, so that the browser transport
// (which keeps them in localStorage) can use them without importing the app's context.
import type { Settings } from "./bindings/ipc";

/** Settings before the backend's saved ones arrive (and the context's own default). */
export const DEFAULT_SETTINGS: Settings = {
  theme: "dark",
  lastScreen: "overview",
  operator: "operator",
  sound: false,
  notify: true,
  recentPlants: [],
  lastPlant: null,
  window: null,
  keyTags: [],
  language: null,
  mysteryDevice: false,
};
