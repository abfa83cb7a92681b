// Seeded conversations in the shapes a GLM phone agent and its clients send: Open-AutoGLM's Chinese
// and English system prompts, tasks with screen info, earlier answers with <think>/<answer>, tool
// results, multi-part user text, odd whitespace at the edges, and text that looks like markup
// without being a control token's string. For comparing tokenizations over many prompts.
import { mulberry32 } from "../../models/synthetic/random.js";

export type Msg = { role: "system" | "user" | "assistant" | "observation"; content: string | { type: "text"; text: string }[] };

const SYSTEMS = [
    "今天的日期是: 2026年1月15日 星期四\n你是一个智能体分析专家，可以根据操作历史和当前状态图执行一系列操作来完成任务。\n你必须严格按照要求输出以下格式：\n<think>{think}</think>\n<answer>{action}</answer>",
    '操作指令及其作用如下：\n- do(action="Launch", app="xxx")：启动目标app。\n- do(action="Tap", element=[x,y])：点击屏幕上的特定点。坐标系统从左上角 (0,0) 开始到右下角（999,999)结束。\n- finish(message="xxx")：任务完成。',
    "The current date: 2026-01-15. You are a phone-operating agent. Think inside <think></think>, then give one action inside <answer></answer>.",
    'Actions:\n- do(action="Type", text="xxx")\n- do(action="Swipe", start=[x1,y1], end=[x2,y2])\n- do(action="Back")\nRules: never guess a password.',
];
const TASKS = [
    "打开微信，给张三发消息说我晚点到",
    "在美团上点一份黄焖鸡米饭",
    "Open Settings and turn on Wi-Fi",
    "Search for 'noise cancelling headphones' on Taobao and sort by price",
    "帮我在小红书搜索杭州三日游攻略",
    "Set an alarm for 7:30 tomorrow",
];
const APPS = ["微信", "美团", "Settings", "淘宝", "小红书", "Clock", "System Home"];
const THOUGHTS = [
    "当前在桌面，需要先打开微信。",
    "The search box is at the top of the screen; I will tap it.",
    "页面还没有加载完成，先等待一下。",
    "I can see the Wi-Fi toggle is off.",
];
const ACTIONS = [
    'do(action="Launch", app="微信")',
    'do(action="Tap", element=[500,120])',
    'do(action="Type", text="晚点到")',
    'do(action="Swipe", start=[500,800], end=[500,200])',
    'do(action="Wait", duration="2 seconds")',
    'finish(message="已发送")',
];
const SNIPPETS = [
    "Hello, world!",
    "你好，世界！",
    "中文English混合 text 123",
    "if (a < b && c > d) { return x[i]; }",
    "价格：¥12,345.67（含税）",
    "🙂👍🏽 emoji 表情 🎉",
    "https://example.com/path?q=1&r=2#frag",
    "**bold** _italic_ `code` # heading",
    '{"current_app": "微信", "battery": 87}',
    "<div class='x'>html</div>",
    "< |user| > [ gMASK ] <sop",
    "a|>b [MASK b <|",
    "tab\tseparated\tvalues",
    "line one\r\nline two",
    "   ",
    "",
    "\n",
    "<think>inner</think>",
    '<answer>do(action="Back")</answer>',
    "ṡömé àccénts ünïcödé",
    "Ελληνικά и русский текст",
    "日本語のテキストです。",
];
/** Whitespace and markup-like edges: where template text meets message text. */
const EDGES = ["", "", "", " ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n", "<", "<|", "[", "[g", ">", "|>", "]", "\u3000"];

/**
 * `count` conversations from `seed`; `tool` is the template's name for a tool result's role; `inject`
 * strings (a vocabulary's control tokens, whole turns forged from them) are spliced into some texts.
 */
export function conversations(seed: number, count: number, o: { tool?: string; inject?: readonly string[] } = {}): Msg[][] {
    const rnd = mulberry32(seed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const inject = o.inject ?? [];
    let forging = false; // a third of the conversations carry forged strings
    const edged = (s: string) => {
        const t = pick(EDGES) + s + pick(EDGES);
        if (!forging || rnd() < 0.6) return t;
        const chars = Array.from(t); // code points: a cut never splits a surrogate pair
        const at = Math.floor(rnd() * (chars.length + 1));
        return chars.slice(0, at).join("") + pick(inject) + chars.slice(at).join("");
    };
    const text = () =>
        edged(
            Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick([...SNIPPETS, ...TASKS, ...THOUGHTS])).join(
                pick([" ", "\n", "", "\n\n", "。"]),
            ),
        );
    const out: Msg[][] = [];
    for (let n = 0; n < count; n++) {
        const msgs: Msg[] = [];
        forging = inject.length > 0 && rnd() < 0.35;
        if (rnd() < 0.7) msgs.push({ role: "system", content: edged(pick(SYSTEMS)) });
        const steps = 1 + Math.floor(rnd() * 4);
        for (let s = 0; s < steps; s++) {
            const screen = `** Screen Info **\n\n${JSON.stringify({ current_app: pick(APPS) })}`;
            const user = s === 0 ? `${pick(TASKS)}\n\n${screen}` : rnd() < 0.5 ? screen : text();
            msgs.push({ role: "user", content: rnd() < 0.4 ? [{ type: "text", text: edged(user) }] : edged(user) });
            if (s === steps - 1 && rnd() < 0.8) break;
            const r = rnd();
            const answer =
                r < 0.6 ? `<think>${pick(THOUGHTS)}</think><answer>${pick(ACTIONS)}</answer>` : r < 0.8 ? `\n${pick(ACTIONS)}` : text();
            msgs.push({ role: "assistant", content: edged(answer) });
            if (rnd() < 0.3)
                msgs.push({
                    role: (o.tool ?? "observation") as Msg["role"],
                    content: edged(`{"result": "${pick(SNIPPETS).replace(/["\\]/g, "")}"}`),
                });
        }
        out.push(msgs);
    }
    return out;
}
