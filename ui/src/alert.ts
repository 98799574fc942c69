// Tells the operator about new critical and high alarms with an optional tone made with Web Audio (no
// sound file to load). The desktop notification is shown by the Rust side (the webview's Notifications
// API shows nothing inside WebKitGTK), so the page does not ask for one.
import type { AlarmRow, AlarmView } from "./bindings/ipc";

/**
 * Alarms in `next` that became active since `prev` and are urgent enough to announce: critical or
 * high, active and unacknowledged, and in the main list (shelved and out-of-service alarms are not
 * announced). An alarm counts as new when `prev` had no activation of it at that time in any list, so
 * an unshelved alarm is not announced again. Nothing is new when `prev` was no alarm picture at all (the
 * first picture after start shows alarms the operator has not seen arrive).
 */
export function newUrgentAlarms(prev: AlarmView, next: AlarmView): AlarmRow[] {
  if (!prev.available) return [];
  const key = (a: AlarmRow) => `${a.id}@${a.since}`;
  const seen = new Set([...prev.alarms, ...prev.shelved, ...prev.outOfService].map(key));
  return next.alarms.filter(
    (a) => (a.priority === "critical" || a.priority === "high") && a.state === "activeUnacked" && !seen.has(key(a)),
  );
}

/** Whether a new alarm picture should sound the tone: the `sound` setting is on and an urgent alarm is new. */
export function shouldSound(prev: AlarmView, next: AlarmView, sound: boolean): boolean {
  return sound && newUrgentAlarms(prev, next).length > 0;
}

let audio: AudioContext | null = null;

/** One short tone, however many alarms arrived together. */
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
