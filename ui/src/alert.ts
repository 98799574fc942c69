// Tells the operator about new critical and high alarms: a desktop notification (when the webview
// offers one) and an optional tone made with Web Audio (no sound file to load).
import type { AlarmRow, AlarmView } from "./bindings/ipc";

/** Alarms in `next` that are new since `prev` and urgent enough to announce. */
export function newUrgentAlarms(prev: AlarmView, next: AlarmView): AlarmRow[] {
  const seen = new Set(prev.alarms.map((a) => `${a.id}@${a.since}`));
  return next.alarms.filter(
    (a) =>
      (a.priority === "critical" || a.priority === "high") &&
      a.state === "activeUnacked" &&
      !seen.has(`${a.id}@${a.since}`),
  );
}

let audio: AudioContext | null = null;

export function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.35);
  } catch {
    // No audio device: the banner still shows the alarm.
  }
}

export function notify(alarm: AlarmRow) {
  try {
    if (typeof Notification === "undefined") return;
    const show = () => new Notification(`${alarm.priority.toUpperCase()} alarm: ${alarm.source}`, { body: alarm.message });
    if (Notification.permission === "granted") show();
    else if (Notification.permission !== "denied") void Notification.requestPermission().then((p) => p === "granted" && show());
  } catch {
    // Notifications unavailable: the banner is the alarm display of record.
  }
}
