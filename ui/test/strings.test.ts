// No user-visible text outside the catalogs: every .tsx file of ui/src is parsed with the TypeScript
// compiler, and JSX text with a letter in it, or a string with a letter that ends up in a visible
// attribute (title, placeholder, aria-label, alt, label) or is rendered as a child, fails the test.
// Catalog keys are the arguments of t(...), so they are not texts.
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** Every .tsx source of the window, by path, as text (Vite reads them when the test is built). */
const SOURCES = import.meta.glob<string>("../src/**/*.tsx", { query: "?raw", import: "default", eager: true });

/** Attributes whose text a person sees or hears (tooltips, placeholders, screen readers). */
const VISIBLE_ATTRIBUTES = new Set(["title", "placeholder", "aria-label", "aria-description", "aria-roledescription", "alt", "label"]);

/** Texts that are not words of any language, each with why it may stay in the code. */
const ALLOWED: Record<string, string> = {
  CSV: "a file format's name, written the same in every language (the button's tooltip is translated)",
  PNG: "a file format's name, written the same in every language (the button's tooltip is translated)",
  SVG: "a file format's name, written the same in every language (the button's tooltip is translated)",
};

/** Calls whose string arguments are catalog keys, not texts. */
const TRANSLATE = new Set(["t", "translate"]);

const LETTER = /\p{L}/u;

export interface Finding {
  file: string;
  line: number;
  text: string;
  where: string;
}

/** Whether a literal's value flows to where it is shown, walking up through the expressions that pass
 * a value on (parentheses, the branches of ?:, &&, ||, ??, +, template spans). */
function shownAt(node: ts.Node): string | null {
  let child: ts.Node = node;
  let parent = node.parent;
  while (parent) {
    if (ts.isJsxAttribute(parent)) {
      const name = parent.name.getText();
      return VISIBLE_ATTRIBUTES.has(name) ? `attribute ${name}` : null;
    }
    if (ts.isJsxExpression(parent)) {
      const host = parent.parent;
      if (ts.isJsxAttribute(host)) {
        child = parent;
        parent = host;
        continue;
      }
      return ts.isJsxElement(host) || ts.isJsxFragment(host) ? "JSX child" : null;
    }
    const passesOn =
      ts.isParenthesizedExpression(parent) ||
      (ts.isConditionalExpression(parent) && parent.condition !== child) ||
      (ts.isBinaryExpression(parent) &&
        [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.PlusToken].includes(
          parent.operatorToken.kind,
        )) ||
      ts.isTemplateSpan(parent) ||
      ts.isTemplateExpression(parent);
    if (!passesOn) return null;
    child = parent;
    parent = parent.parent;
  }
  return null;
}

/** The user-visible texts of one .tsx source that are not in the catalogs. */
export function findTexts(file: string, source: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: Finding[] = [];
  const report = (node: ts.Node, text: string, where: string) => {
    const trimmed = text.trim();
    if (!LETTER.test(trimmed) || trimmed in ALLOWED) return;
    found.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: trimmed, where });
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && TRANSLATE.has(node.expression.getText(sf))) return;
    if (ts.isJsxText(node)) report(node, node.text, "JSX text");
    else if (ts.isJsxAttribute(node) && node.initializer && ts.isStringLiteral(node.initializer)) {
      const name = node.name.getText(sf);
      if (VISIBLE_ATTRIBUTES.has(name)) report(node, node.initializer.text, `attribute ${name}`);
    } else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (!ts.isJsxAttribute(node.parent)) {
        const where = shownAt(node);
        if (where) report(node, node.text, where);
      }
    } else if (ts.isTemplateExpression(node)) {
      const where = shownAt(node);
      const parts = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(" ");
      if (where) report(node, parts, where);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("user-visible strings", () => {
  it("are all in the catalogs", () => {
    const files = Object.entries(SOURCES);
    expect(files.length).toBeGreaterThan(15);
    const found = files.flatMap(([path, text]) => findTexts(path.replace("../src/", ""), text));
    expect(found.map((f) => `${f.file}:${f.line}: ${f.where}: ${f.text}`)).toEqual([]);
  });

  it("are found when planted: JSX text, a visible attribute, a rendered literal", () => {
    const planted = `
      export const A = ({ on }: { on: boolean }) => (
        <div title="Pump running" data-testid="not-text" class="grow">
          Start the pump
          <input placeholder={on ? "new value" : t("write.newValue")} aria-label={\`Value of \${on}\`} />
          {on ? "running" : t("common.off")}
          {on && <span>{"—"} CSV {t("a.key")}</span>}
          <button onClick={() => on === ("stopped" as unknown)}>{label}</button>
        </div>
      );`;
    expect(findTexts("planted.tsx", planted).map((f) => `${f.line}: ${f.where}: ${f.text}`)).toEqual([
      "3: attribute title: Pump running",
      "4: JSX text: Start the pump",
      "5: attribute placeholder: new value",
      "5: attribute aria-label: Value of",
      "6: JSX child: running",
    ]);
  });
});
