// The plant's own texts (tag names, alarm messages) belong to the plant, not to the catalogs: the plant
// file may give a Chinese variant (`name_zh` on a tag, `message_zh` on an alarm rule), which the window
// prefers in Chinese. Without one, the plant's text is shown as written.
import type { PlantInfo } from "./bindings/ipc";
import { currentLanguage, t } from "./i18n";
import { alarmKind } from "./i18n/words";

/** A tag's name in the window's language. */
export function tagName(tag: { name: string; nameZh: string | null }): string {
  return currentLanguage() === "zh-CN" && tag.nameZh ? tag.nameZh : tag.name;
}

/** What the window says in Chinese for each alarm, by its source (a tag's full id or a device's id) and
 * kind: the rule's `message_zh`; for a rule without any message, the tag's name and the kind in Chinese
 * (the alarm service's default is `NAME HI`); for a device's communication alarm, its name and 离线; for a
 * system alarm ("history disk low"), the catalog's words. */
const chineseMessages = new WeakMap<PlantInfo, Map<string, string>>();

function chineseMessage(plant: PlantInfo, source: string, kind: string): string | undefined {
  let messages = chineseMessages.get(plant);
  if (!messages) {
    messages = new Map();
    for (const tag of plant.tags) {
      for (const rule of tag.alarms) {
        const text =
          rule.messageZh ??
          (rule.message === null && rule.limit !== null ? t("alarms.limitMessage", { name: tagName(tag), kind: alarmKind(rule.kind) }) : null);
        if (text) messages.set(`${tag.id}\u0000${rule.kind}`, text);
      }
    }
    for (const device of plant.devices) messages.set(`${device.id}\u0000comm`, t("alarms.offline", { device: device.name }));
    // Plantwatch's own system alarms (source `plantwatch`): their text is the catalogs'.
    messages.set("plantwatch\u0000history_disk_low", t("alarms.historyDiskLow"));
    messages.set("plantwatch\u0000report_failed", t("alarms.reportFailed"));
    chineseMessages.set(plant, messages);
  }
  return messages.get(`${source}\u0000${kind}`);
}

/**
 * An alarm's message in the window's language: in Chinese, the plant's Chinese text for it (above) when
 * there is one, else the message as the alarm service wrote it.
 */
export function alarmMessage(plant: PlantInfo | null, alarm: { source: string; kind: string; message: string }): string {
  if (currentLanguage() !== "zh-CN" || !plant) return alarm.message;
  return chineseMessage(plant, alarm.source, alarm.kind) ?? alarm.message;
}
