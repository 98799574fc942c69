// WebKitGTK reports navigator.language as "C" when the process runs under LANG=C (CI machines, Xvfb),
// and Intl rejects that tag, which breaks every library that formats numbers for the user's locale
// (uPlot does so when it loads). Fall back to a valid tag before anything else is evaluated.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(Navigator.prototype, "language", { get: () => "en-US", configurable: true });
  Object.defineProperty(Navigator.prototype, "languages", { get: () => ["en-US"], configurable: true });
}

export {};
