// The conversation exactly as Open-AutoGLM builds it (agent.py with model/client.py's
// MessageBuilder), since that is the shape the model was trained on:
//   system: the prompt
//   user:   [image, text]  the newest screenshot first, then "{task}\n\n{screen info}" on the first
//                          step, "** Screen Info **\n\n{screen info}" after
//   later, each earlier user turn keeps a one-item [text] list (its image is dropped), and each
//   assistant turn is rebuilt as "<think>{thinking}</think><answer>{action}</answer>".

import type { TurnMessage } from "../engine/turn.js";

/** json.dumps({"current_app": app}, ensure_ascii=False): Python's separators, non-ASCII kept. */
export function screenInfo(app: string): string {
    return `{"current_app": ${JSON.stringify(app)}}`;
}

/** The user turn's text: the task with the screen info on the first step, the screen info alone after. */
export function userText(app: string, task?: string): string {
    return task !== undefined ? `${task}\n\n${screenInfo(app)}` : `** Screen Info **\n\n${screenInfo(app)}`;
}

/** The assistant turn kept in the history, rebuilt from the parsed parts (not the raw output). */
export function assistantText(thinking: string, answer: string): string {
    return `<think>${thinking}</think><answer>${answer}</answer>`;
}

export class History {
    private readonly turns: TurnMessage[];

    constructor(systemPrompt: string) {
        this.turns = [{ role: "system", content: systemPrompt }];
    }

    /** The messages of this step's request: the history, then the new user turn with the screenshot. */
    request(screenshot: Buffer, text: string): TurnMessage[] {
        return [
            ...this.turns,
            {
                role: "user",
                content: [
                    { type: "image", source: { bytes: screenshot } },
                    { type: "text", text },
                ],
            },
        ];
    }

    /** Keeps a step: its user turn without the image, and the model's answer rebuilt. */
    commit(text: string, thinking: string, answer: string): void {
        this.turns.push(
            { role: "user", content: [{ type: "text", text }] },
            { role: "assistant", content: assistantText(thinking, answer) },
        );
    }

    get messages(): readonly TurnMessage[] {
        return this.turns;
    }
}
