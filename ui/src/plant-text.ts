// The plant's own texts (tag names, alarm messages) belong to the plant, not to the catalogs: the plant
// file may give a Chinese variant (`name_zh` on a tag, `message_zh` on an alarm rule), which the window
// prefers in Chinese. Without one, the plant's text is shown as written.
import type { PlantInfo } from "./bindings/ipc";
import { currentLanguage } from "./i18n";

/** A tag's name in the window's language. */
export function tagName(tag: { name: string; nameZh: string | null }): string {
  return currentLanguage() === "zh-CN" && tag.nameZh ? tag.nameZh : tag.name;
}

/** Each alarm rule's Chinese message by its source (the tag's full id) and kind, per plant. */
const chineseMessages = new WeakMap<PlantInfo, Map<string, string>>();

function chineseMessage(plant: PlantInfo, source: string, kind: string): string | undefined {
  let messages = chineseMessages.get(plant);
  if (!messages) {
    messages = new Map();
    for (const tag of plant.tags) {
      for (const rule of tag.alarms) if (rule.messageZh) messages.set(`${tag.id}\u0000${rule.kind}`, rule.messageZh);
    }
    chineseMessages.set(plant, messages);
  }
  return messages.get(`${source}\u0000${kind}`);
}

/**
 * An alarm's message in the window's language: in Chinese, the rule's `message_zh` when the plant gives
 * one (found by the alarm's source tag and kind), else the message as the alarm service wrote it.
 */
export function alarmMessage(plant: PlantInfo | null, alarm: { source: string; kind: string; message: string }): string {
  if (currentLanguage() !== "zh-CN" || !plant) return alarm.message;
  return chineseMessage(plant, alarm.source, alarm.kind) ?? alarm.message;
}
