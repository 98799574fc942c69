// The two catalogs say the same things: every key of one is in the other, with the same interpolation
// variables, and each has the plural forms its language needs (English "one" and "other", Chinese only
// "other": i18next picks the form with Intl.PluralRules).
import { describe, expect, it } from "vitest";
import en from "../src/i18n/en.json";
import zh from "../src/i18n/zh-CN.json";

type Catalog = { [key: string]: string | Catalog };

const PLURAL = /_(zero|one|two|few|many|other)$/;

/** Every key of a catalog, dotted ("alarms.col.state"), with its text. */
function flatten(catalog: Catalog, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(catalog)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

/** The interpolation variables of a text ({{count}}, {{name}}), sorted. */
function variables(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{\s*([^},\s]+)[^}]*\}\}/g)].map((m) => m[1]))].sort();
}

/** A catalog's keys without plural suffixes, each with the union of its forms' variables. */
function messages(catalog: Catalog): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, text] of flatten(catalog)) {
    const base = key.replace(PLURAL, "");
    out.set(base, [...new Set([...(out.get(base) ?? []), ...variables(text)])].sort());
  }
  return out;
}

/** What differs between two catalogs: keys missing from either, and keys whose variables differ. */
function differences(a: Catalog, b: Catalog, names = ["en", "zh-CN"]): string[] {
  const ma = messages(a);
  const mb = messages(b);
  const problems: string[] = [];
  for (const key of ma.keys()) if (!mb.has(key)) problems.push(`${key}: missing from ${names[1]}`);
  for (const key of mb.keys()) if (!ma.has(key)) problems.push(`${key}: missing from ${names[0]}`);
  for (const [key, vars] of ma) {
    const other = mb.get(key);
    if (other && other.join() !== vars.join()) problems.push(`${key}: {{${vars}}} in ${names[0]}, {{${other}}} in ${names[1]}`);
  }
  return problems;
}

/** Plural keys lacking a form the language's plural rules need. */
function missingPluralForms(catalog: Catalog, language: string): string[] {
  const needed = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
  const keys = new Set(flatten(catalog).keys());
  const bases = new Set([...keys].filter((k) => PLURAL.test(k)).map((k) => k.replace(PLURAL, "")));
  const problems: string[] = [];
  for (const base of bases) for (const form of needed) if (!keys.has(`${base}_${form}`)) problems.push(`${base}_${form}`);
  return problems;
}

describe("the catalogs", () => {
  it("have the same keys with the same interpolation variables", () => {
    expect(differences(en, zh)).toEqual([]);
  });

  it("have every plural form their language needs", () => {
    expect(missingPluralForms(en, "en")).toEqual([]);
    expect(missingPluralForms(zh, "zh-CN")).toEqual([]);
  });

  it("leave no text empty", () => {
    const empty = [...flatten(en), ...flatten(zh)].filter(([, text]) => text.trim() === "").map(([k]) => k);
    expect(empty).toEqual([]);
  });

  it("catch a key missing from one side and a variable that differs", () => {
    // The checks themselves: a planted difference is found.
    expect(differences({ a: "x", b: "{{n}} y" }, { b: "{{m}} 个" })).toEqual(["a: missing from zh-CN", "b: {{n}} in en, {{m}} in zh-CN"]);
    expect(differences({ c_one: "{{count}} tag", c_other: "{{count}} tags" }, { c_other: "{{count}} 个" })).toEqual([]);
    expect(missingPluralForms({ c_other: "{{count}} tags" }, "en")).toEqual(["c_one"]);
  });
});
