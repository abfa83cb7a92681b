// The parser on the outputs Open-AutoGLM's users reported (issue and PR numbers of
// zai-org/Open-AutoGLM), the shapes the system prompt asks for, and garbage that must never become
// "finished".
import { describe, expect, it } from "vitest";
import { ActionParseError, parseAction, parseResponse, splitResponse } from "../src/agent/parse.js";

describe("splitting thinking from the answer", () => {
    it("takes the <answer> tag first (#378, #414): no tags leak into the thinking, no </answer> into the action", () => {
        expect(splitResponse('<think>先思考</think>\n<answer>do(action="Launch", app="知乎")</answer>')).toEqual({
            thinking: "先思考",
            answer: 'do(action="Launch", app="知乎")',
        });
        // #378's sample, with newlines around the action.
        const raw =
            '\n<think>用户需要打开知乎查看首页第一条消息，当前在系统桌面，首先需要启动知乎应用，因此执行Launch操作打开知乎。</think>\n<answer>\ndo(action="Launch", app="知乎")\n</answer>\n';
        expect(parseResponse(raw)).toEqual({
            thinking: "用户需要打开知乎查看首页第一条消息，当前在系统桌面，首先需要启动知乎应用，因此执行Launch操作打开知乎。",
            answer: 'do(action="Launch", app="知乎")',
            action: { action: "Launch", app: "知乎" },
        });
    });

    it("without <answer>: the first marker after </think>, a trailing </answer> dropped (#347)", () => {
        expect(parseResponse('do(action="Tap", element=[811,188])</answer>')).toMatchObject({
            thinking: "",
            action: { action: "Tap", element: [811, 188] },
        });
        // The real model stops on its </answer> token, so the tag may be missing altogether.
        expect(parseResponse('<think>点击搜索框</think><answer>do(action="Tap", element=[500,100])')).toMatchObject({
            thinking: "点击搜索框",
            action: { action: "Tap", element: [500, 100] },
        });
        // A thinking that quotes an action: the action is the one after </think>.
        expect(parseResponse('<think>do(action="Back") did nothing, so go home</think>do(action="Home")').action).toEqual({
            action: "Home",
        });
    });

    it("strips GLM box tokens (#59, #60)", () => {
        const raw =
            '<|begin_of_box|>I can see the Android home screen with various app icons...<|end_of_box|>\n<|begin_of_box|>do(action="Launch", app="Settings")<|end_of_box|>';
        expect(parseResponse(raw)).toEqual({
            thinking: "I can see the Android home screen with various app icons...",
            answer: 'do(action="Launch", app="Settings")',
            action: { action: "Launch", app: "Settings" },
        });
        expect(parseResponse('<think>x</think><answer><|begin_of_box|>finish(message="done")<|end_of_box|></answer>').action).toEqual({
            action: "finish",
            message: "done",
        });
    });
});

describe("reading the action", () => {
    it("reads every action of the prompt", () => {
        const cases: [string, object][] = [
            ['do(action="Launch", app="微信")', { action: "Launch", app: "微信" }],
            ['do(action="Tap", element=[0,999])', { action: "Tap", element: [0, 999] }],
            ['do(action="Tap", element=[500, 620], message="重要操作")', { action: "Tap", element: [500, 620], message: "重要操作" }],
            ['do(action="Type", text="Hello World")', { action: "Type", text: "Hello World" }],
            ['do(action="Type_Name", text="张三")', { action: "Type_Name", text: "张三" }],
            ['do(action="Interact")', { action: "Interact" }],
            ['do(action="Swipe", start=[500,800], end=[500,200])', { action: "Swipe", start: [500, 800], end: [500, 200] }],
            ['do(action="Note", message="True")', { action: "Note", message: "True" }],
            ['do(action="Call_API", instruction="总结页面")', { action: "Call_API", instruction: "总结页面" }],
            ['do(action="Long Press", element=[300,400])', { action: "Long Press", element: [300, 400] }],
            ['do(action="Double Tap", element=[300,400])', { action: "Double Tap", element: [300, 400] }],
            ['do(action="Take_over", message="请登录")', { action: "Take_over", message: "请登录" }],
            ['do(action="Back")', { action: "Back" }],
            ['do(action="Home")', { action: "Home" }],
            ['do(action="Wait", duration="2 seconds")', { action: "Wait", duration: "2 seconds" }],
            ['finish(message="Task completed.")', { action: "finish", message: "Task completed." }],
        ];
        for (const [text, action] of cases) expect(parseAction(text), text).toEqual(action);
    });

    it("keeps quotes the model did not escape inside strings (#286, midscene's message case)", () => {
        expect(parseAction('do(action="Type", text="去哪里"吃饭"呀？")')).toEqual({ action: "Type", text: '去哪里"吃饭"呀？' });
        expect(parseAction('finish(message="Found "Tom" in the list.")')).toEqual({
            action: "finish",
            message: 'Found "Tom" in the list.',
        });
        expect(parseAction('do(action="Tap", element=[1,2], message="确认支付"100元"")')).toEqual({
            action: "Tap",
            element: [1, 2],
            message: '确认支付"100元"',
        });
        // Escaped quotes and backslashes are unescaped; other backslashes are typed as written.
        expect(parseAction('do(action="Type", text="say \\"hi\\" C:\\\\new \\n")')).toEqual({
            action: "Type",
            text: 'say "hi" C:\\new \\n',
        });
    });

    it("keeps newlines inside strings (#154: a multi-line Type)", () => {
        const raw =
            '<think>让我尝试直接输入食谱内容。</think><answer>do(action="Type", text="好的，每周食谱：\n\n**周一：**\n- 早餐：全麦面包+水煮蛋+牛奶\n- 午餐：糙米饭")</answer>';
        expect(parseResponse(raw).action).toEqual({
            action: "Type",
            text: "好的，每周食谱：\n\n**周一：**\n- 早餐：全麦面包+水煮蛋+牛奶\n- 午餐：糙米饭",
        });
    });

    it("takes full-width punctuation as its ASCII twin outside strings, and keeps it inside them", () => {
        expect(parseAction('do(action="Tap"，element=[500，300])')).toEqual({ action: "Tap", element: [500, 300] });
        expect(parseAction("do（action=“Launch”，app=“微信”）")).toEqual({ action: "Launch", app: "微信" });
        expect(parseAction('finish（message＝"已完成，谢谢"）')).toEqual({ action: "finish", message: "已完成，谢谢" });
        expect(parseAction('do(action="Swipe", start=［500，800］, end=［500，200］)')).toEqual({
            action: "Swipe",
            start: [500, 800],
            end: [500, 200],
        });
    });

    it("forgives small slips: single quotes, a quoted point, spelling of names, a code fence, finish without a name", () => {
        expect(parseAction("do(action='Back')")).toEqual({ action: "Back" });
        expect(parseAction('do(action="Tap", element="[10, 20]")')).toEqual({ action: "Tap", element: [10, 20] });
        expect(parseAction('do(action="long press", element=[1,2])')).toEqual({ action: "Long Press", element: [1, 2] });
        expect(parseAction('do(action="DoubleTap", element=[1,2])')).toEqual({ action: "Double Tap", element: [1, 2] });
        expect(parseAction('```python\ndo(action="Home")\n```')).toEqual({ action: "Home" });
        expect(parseAction('finish("done")')).toEqual({ action: "finish", message: "done" });
        expect(parseAction("finish()")).toEqual({ action: "finish", message: "" });
        expect(parseAction('do(action="Back").')).toEqual({ action: "Back" });
    });

    it("an action the handler does not know parses as unknown (upstream: Unknown action, the task goes on)", () => {
        expect(parseAction('do(action="Scroll", direction="down")')).toEqual({ action: "unknown", name: "Scroll" });
    });
});

describe("garbage is an error, never a finish", () => {
    const garbage: [string, RegExp][] = [
        ['[{\'Type", text="库迪咖啡")', /not a do\(\.\.\.\) or finish/], // #27
        ["[{'Type': 'Type'}]", /not a do\(\.\.\.\) or finish/], // #316
        ['[{"Type": "Type"}]', /not a do\(\.\.\.\) or finish/], // PR #402
        ["I think I should tap the button.", /not a do\(\.\.\.\) or finish/],
        ["", /empty/],
        ['do(action="Type", text="cut off by max_tokens', /not closed/],
        ['do(action="Tap", element=[500,300]', /expected , or \)/],
        ['do(action="Tap")', /element= is missing/],
        ['do(action="Tap", element=[500])', /should be \[x,y\]/],
        ['do(action="Tap", element=[-5,20])', /outside the 0-999/],
        ['do(action="Tap", element=[1500,20])', /outside the 0-999/],
        ["do(element=[1,2])", /no action=/],
        ['do(action="Back") do(action="Home")', /unexpected text after/],
        ['finish(message="a") and more', /unexpected text after/],
        ['do(action="Tap\\", element=[1,2])', /not closed/],
        ['do(action="Ta(p", element=[1,2])', /not an action name/],
        // A hostile server's answer: nesting deep enough to overflow a recursive reader's stack.
        [`do(action="Tap", element=${"[".repeat(100_000)}`, /lists nested more than 4 deep/],
    ];
    for (const [text, reason] of garbage)
        it(JSON.stringify(text.slice(0, 40)), () => {
            expect(() => parseAction(text)).toThrow(ActionParseError);
            expect(() => parseAction(text)).toThrow(reason);
        });

    it("a whole response with no action in it", () => {
        expect(() => parseResponse("<think>hmm</think>")).toThrow(ActionParseError);
        expect(() => parseResponse("<think>unfinished thinking that ran out of tokens")).toThrow(ActionParseError);
    });
});
