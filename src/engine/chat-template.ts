// Renders the GGUF's own Jinja chat template (tokenizer.chat_template) with @huggingface/jinja,
// the same renderer node-llama-cpp uses, into the prompt text. The template comes from the model
// file, so it is run under limits: a step budget, a time limit, a cap on the text it produces and
// on range(); a hostile template is a one-line error instead of a hang or an out-of-memory.

import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { UserError } from "../core/errors.js";

// The package's .d.ts re-exports these from extensionless paths NodeNext does not resolve: typed here.
interface RuntimeValue {
    value: unknown;
}
interface JinjaEnvironment {
    set(name: string, value: unknown): void;
}
type InterpreterClass = new (
    env: JinjaEnvironment,
) => {
    evaluate(statement: unknown, env: unknown): RuntimeValue;
    /** Runs a block (a loop body, once per iteration). */
    evaluateBlock(statements: unknown[], env: unknown): RuntimeValue;
    run(program: unknown): RuntimeValue;
};
const JinjaInterpreter = Interpreter as unknown as InterpreterClass;
const JinjaEnvironment = Environment as unknown as new () => JinjaEnvironment;

import type { MediaItem } from "./native.js";

/** An image or audio part; `item` holds its pixels or samples (a template sees only the marker). */
export interface MediaPart {
    type: "image" | "audio";
    item?: MediaItem;
}
export type ContentPart = { type: "text"; text: string } | MediaPart;
export interface ChatMessage {
    role: "system" | "user" | "assistant" | "observation";
    content: string | ContentPart[];
    /** GLM-4's call turn: the function's name (the template renders `<|assistant|>{metadata}\n{content}`). */
    metadata?: string;
    /** An assistant turn's calls, and an observation's call and function (src/engine/tools/ renders them). */
    toolCalls?: { id: string; name: string; arguments: string }[];
    toolCallId?: string;
    name?: string;
}

/**
 * Far above what GLM's template needs for a long conversation (a few thousand steps, a prompt of
 * at most the context's size in characters), far below a hang.
 */
export const RENDER_LIMITS = { steps: 200_000, ms: 10_000, chars: 16 << 20, rangeItems: 1_000_000 };

class TemplateLimitError extends Error {}

/**
 * @huggingface/jinja's interpreter, counting each evaluation and each block run (a loop iteration
 * with an empty body is one) against a step budget, and checking the size of each string produced.
 * The budget, not the clock, stops a runaway template, so the same template always stops at the
 * same place; the time limit is a backstop.
 */
class BoundedInterpreter extends JinjaInterpreter {
    private steps = 0;
    private readonly deadline = performance.now() + RENDER_LIMITS.ms;

    private step(): void {
        if (++this.steps > RENDER_LIMITS.steps)
            throw new TemplateLimitError(`it took more than ${RENDER_LIMITS.steps} steps (a runaway loop?)`);
        if ((this.steps & 1023) === 0 && performance.now() > this.deadline)
            throw new TemplateLimitError(`it ran longer than ${RENDER_LIMITS.ms / 1000} s`);
    }

    override evaluateBlock(statements: unknown[], env: unknown): RuntimeValue {
        this.step();
        return super.evaluateBlock(statements, env);
    }

    override evaluate(statement: unknown, env: unknown): RuntimeValue {
        this.step();
        const v = super.evaluate(statement, env);
        if (typeof v.value === "string" && v.value.length > RENDER_LIMITS.chars)
            throw new TemplateLimitError(`its output passed ${RENDER_LIMITS.chars} characters`);
        return v;
    }
}

/** range() as Jinja's, refusing sizes no chat template needs (the library's builds the whole array). */
function boundedRange(start: number, stop?: number, step = 1): number[] {
    if (stop === undefined) {
        stop = start;
        start = 0;
    }
    if (step === 0) throw new Error("range() step must not be zero");
    const n = Math.max(0, Math.ceil((stop - start) / step));
    if (!Number.isFinite(n) || n > RENDER_LIMITS.rangeItems) throw new TemplateLimitError(`it asked for range() of ${n} items`);
    return Array.from({ length: n }, (_, i) => start + i * step);
}

const pad2 = (n: number) => String(n).padStart(2, "0");
/** strftime_now as the library's: %Y %m %d %b %B %H %M %%. */
function strftimeNow(format: string): string {
    const d = new Date();
    return format.replace(
        /%[YmdbBHM%]/g,
        (t) =>
            ({
                "%Y": String(d.getFullYear()),
                "%m": pad2(d.getMonth() + 1),
                "%d": pad2(d.getDate()),
                "%b": new Intl.DateTimeFormat(undefined, { month: "short" }).format(d),
                "%B": new Intl.DateTimeFormat(undefined, { month: "long" }).format(d),
                "%H": pad2(d.getHours()),
                "%M": pad2(d.getMinutes()),
                "%%": "%",
            })[t]!,
    );
}

/** The globals the library's Template.render sets, with range() bounded. */
function templateEnvironment(items: Record<string, unknown>): JinjaEnvironment {
    const env = new JinjaEnvironment();
    const globals: Record<string, unknown> = {
        false: false,
        true: true,
        none: null,
        False: false,
        True: true,
        None: null,
        raise_exception: (message: unknown) => {
            throw new Error(String(message));
        },
        range: boundedRange,
        strftime_now: strftimeNow,
    };
    for (const [k, v] of Object.entries({ ...globals, ...items })) env.set(k, v);
    return env;
}

export class ChatTemplate {
    private readonly template: Template;

    constructor(source: string) {
        try {
            this.template = new Template(source);
        } catch (e) {
            throw new UserError(`the model's chat template does not parse: ${firstLine(e)}`);
        }
    }

    render(messages: ChatMessage[], opts: { addGenerationPrompt: boolean; enableThinking?: boolean; tools?: object[] }): string {
        const env = templateEnvironment({
            messages: messages.map(({ toolCalls: _c, toolCallId: _i, name: _n, ...m }) => m),
            ...(opts.tools ? { tools: opts.tools } : {}),
            add_generation_prompt: opts.addGenerationPrompt,
            ...(opts.enableThinking === undefined ? {} : { enable_thinking: opts.enableThinking }),
            bos_token: "",
            eos_token: "",
        });
        try {
            const out = new BoundedInterpreter(env).run((this.template as unknown as { parsed: unknown }).parsed).value;
            if (typeof out !== "string") throw new Error("it did not produce text");
            return out;
        } catch (e) {
            if (e instanceof TemplateLimitError) throw new UserError(`the model's chat template was stopped: ${e.message}`);
            // raise_exception(), a type error, a recursion too deep: the template's fault, one line.
            throw new UserError(`the model's chat template failed: ${firstLine(e)}`);
        }
    }
}

function firstLine(e: unknown): string {
    return String((e as Error)?.message ?? e)
        .split("\n")[0]!
        .slice(0, 300);
}
