import "./locale-fix";
import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app";
import { backend } from "./ipc";
import { LiveStore } from "./live";

window.addEventListener("error", (e) => (document.documentElement.dataset.lastError = String(e.message)));
window.addEventListener("unhandledrejection", (e) => (document.documentElement.dataset.lastError = String(e.reason)));
const root = document.getElementById("app");
if (root) render(<App backend={backend} store={new LiveStore()} />, root);
