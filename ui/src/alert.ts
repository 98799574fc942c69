// Tells the operator about new critical and high alarms with an optional tone made with Web Audio (no
// sound file to load). The desktop notification is shown by the Rust side (the webview's Notifications
// API shows nothing inside WebKitGTK), so the page does not ask for one.
//
// Which alarms are urgent is decided once, in Rust (the alarm service's `notify` verdict): a live batch
// names them in `urgent`. The page only applies the user's `sound` setting to that verdict.
import type { LiveBatch } from "./bindings/ipc";

/** Whether a live batch should sound the tone: the `sound` setting is on and the batch names an urgent alarm. */
export function shouldSound(batch: LiveBatch, sound: boolean): boolean {
  return sound && batch.urgent.length > 0;
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
