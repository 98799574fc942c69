// The window's language, in the header: each language named in itself, so a user who cannot read the
// current one still finds theirs. Switching re-renders the window at once; the choice is saved.
import type { Language } from "../bindings/ipc";
import { LANGUAGES, useT } from "../i18n";

export function LanguageSwitch({ language, onChoose }: { language: Language; onChoose: (language: Language) => void }) {
  const t = useT();
  return (
    <select
      class="language"
      aria-label={t("app.language")}
      title={t("app.languageHint")}
      data-testid="language"
      value={language}
      onChange={(e) => onChoose((e.currentTarget as HTMLSelectElement).value as Language)}
    >
      {LANGUAGES.map((l) => (
        <option value={l} lang={l}>
          {t(`languages.${l}`)}
        </option>
      ))}
    </select>
  );
}
