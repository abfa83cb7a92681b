// The data the model was trained on, against Open-AutoGLM's own (zai-org/Open-AutoGLM@6b18d7be):
// the system prompts word for word and the app tables entry for entry, in order. The SHA-256 values
// were computed from upstream's files with Python, as upstream evaluates them:
//   exec(prompts_zh.py) -> SYSTEM_PROMPT.split("\n", 1)[1]  (everything after the date line), UTF-8
//   exec(apps.py) -> json.dumps(list(APP_PACKAGES.items()), ensure_ascii=False), UTF-8
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ANDROID_APPS } from "../src/agent/apps-android.js";
import { HARMONYOS_ABILITIES, HARMONYOS_APPS } from "../src/agent/apps-harmonyos.js";
import { ANDROID_TABLE, HARMONYOS_TABLE, harmonyAbility } from "../src/agent/apps.js";
import { CN_BODY, dateLine, EN_BODY, systemPrompt } from "../src/agent/prompts.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
/** Python's json.dumps(..., ensure_ascii=False) of a list of pairs: ", " between items and inside pairs. */
const pyPairs = (pairs: readonly (readonly [string, string])[]) =>
    `[${pairs.map(([a, b]) => `[${JSON.stringify(a)}, ${JSON.stringify(b)}]`).join(", ")}]`;

describe("system prompts", () => {
    it("are Open-AutoGLM's, byte for byte after the date line", () => {
        expect(CN_BODY.length).toBe(3379);
        expect(sha256(CN_BODY)).toBe("962c23a8bc482d6022091051242991a065aca3953ea4dcf6f6141accff5367ff");
        expect(EN_BODY.length).toBe(2405);
        expect(sha256(EN_BODY)).toBe("3e2f956a26bb9cf17b0c93cdc019678bfce518a5ebdc17ad2733e1cb00c5ac8d");
        // The two trailing spaces after each action's signature are part of it.
        expect(CN_BODY).toContain('- do(action="Launch", app="xxx")  \n    Launch是启动目标app的操作');
        expect(CN_BODY.endsWith("请返回之前的步骤进行纠正。\n")).toBe(true);
    });

    it("start with the date as upstream formats datetime.today(), in local time", () => {
        const d = new Date(2026, 0, 5, 23, 59); // a Monday
        expect(dateLine("cn", d)).toBe("今天的日期是: 2026年01月05日 星期一");
        expect(dateLine("en", d)).toBe("The current date: 2026-01-05, Monday");
        expect(dateLine("cn", new Date(2025, 11, 14))).toBe("今天的日期是: 2025年12月14日 星期日");
        expect(dateLine("en", new Date(2025, 11, 13))).toBe("The current date: 2025-12-13, Saturday");
        expect(systemPrompt("cn", d)).toBe(`今天的日期是: 2026年01月05日 星期一\n${CN_BODY}`);
        expect(systemPrompt("en", d)).toBe(`The current date: 2026-01-05, Monday\n${EN_BODY}`);
    });
});

describe("app tables", () => {
    it("are Open-AutoGLM's, entry for entry and in order", () => {
        expect(ANDROID_APPS.length).toBe(168);
        expect(sha256(pyPairs(ANDROID_APPS))).toBe("d28169ccd7205392fb3f9f61b18dc7c5ef16b6dbc415fa71ef9eecfb80ade1d1");
        expect(HARMONYOS_APPS.length).toBe(115);
        expect(sha256(pyPairs(HARMONYOS_APPS))).toBe("07641fdf85f3f6cb358d83b87d3ac921de790512552381557fc985fc95ea8edb");
        expect(HARMONYOS_ABILITIES.length).toBe(39);
        expect(sha256(pyPairs(HARMONYOS_ABILITIES))).toBe("29cce7a157e43c537c6272f82cef09a3fa38485145c1967e72f3ad98eda7c884");
    });

    it("look up as upstream does: exact names, the first package in table order found in a focus line", () => {
        expect(ANDROID_TABLE.packageOf("微信")).toBe("com.tencent.mm");
        expect(ANDROID_TABLE.packageOf("WeChat")).toBe("com.tencent.mm");
        expect(ANDROID_TABLE.packageOf("wechat ")).toBeUndefined();
        // Several names share com.android.settings; the first in the table is the one the model is shown.
        expect(ANDROID_TABLE.nameInText("mCurrentFocus=Window{1 u0 com.android.settings/.Settings}")).toBe("AndroidSystemSettings");
        expect(ANDROID_TABLE.nameInText("mFocusedApp=ActivityRecord{2 u0 com.taobao.taobao/.Main t1}")).toBe("淘宝");
        expect(ANDROID_TABLE.nameInText("mCurrentFocus=Window{1 u0 com.example.unknown/.Main}")).toBeUndefined();
        expect(HARMONYOS_TABLE.nameOfPackage("com.huawei.hmos.settings")).toBe("设置");
        expect(harmonyAbility("com.huawei.hmos.settings")).toBe("com.huawei.hmos.settings.MainAbility");
        expect(harmonyAbility("com.kuaishou.hmapp")).toBe("EntryAbility");
        // --list-apps: sorted by code point, as Python's sorted().
        const names = ANDROID_TABLE.list().map(([n]) => n);
        expect(names[0]).toBe("12306");
        expect(names).toEqual([...names].sort());
    });
});
