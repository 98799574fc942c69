// The audit trail's action and result codes are shown in the window's language; the codes themselves
// stay in the data (and the CSV export), and a code this window does not know is shown as it is.
import { afterAll, describe, expect, it } from "vitest";
import { i18n, setLanguage } from "../src/i18n";
import { auditWord } from "../src/screens/Audit";

afterAll(() => setLanguage("en"));

describe("audit words", () => {
  it("reads every code the trail writes in English and in Chinese", async () => {
    const t = i18n.t.bind(i18n) as never;
    await setLanguage("en");
    expect(auditWord(t, "actions", "sign_in_failed")).toBe("sign-in failed");
    expect(auditWord(t, "results", "wrong_password")).toBe("wrong password");
    expect(auditWord(t, "results", "done")).toBe("done");
    await setLanguage("zh-CN");
    expect(auditWord(t, "actions", "write")).toBe("写入");
    expect(auditWord(t, "results", "refused")).toBe("被拒绝");
    expect(auditWord(t, "actions", "plant_renamed")).toBe("plant_renamed");
  });
});
