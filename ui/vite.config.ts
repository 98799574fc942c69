import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";

// Everything is bundled into dist/ and served by Tauri's own protocol: no CDN, no web fonts.
export default defineConfig({
  plugins: [preact()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    target: "safari15",
    outDir: "dist",
    emptyOutDir: true,
    // Tauri serves the files itself; inline nothing so the strict CSP holds (no data: scripts).
    assetsInlineLimit: 0,
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
  },
});
