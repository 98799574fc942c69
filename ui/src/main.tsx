import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app";
import { backend } from "./ipc";
import { LiveStore } from "./live";

const root = document.getElementById("app");
if (root) render(<App backend={backend} store={new LiveStore()} />, root);
