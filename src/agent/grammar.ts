// The action language as a GBNF grammar, for --strict-actions: every answer then parses. Only the
// answer is constrained: the thinking is any text up to the first </think> (the grammar is written
// so that it cannot end earlier or later), and what follows <answer> is exactly one action in the
// form the system prompt shows. The answer may end with </answer> or without it: the real
// AutoGLM-Phone-9B stops on its </answer> token (an end-of-generation token, which llama.cpp
// allows once the grammar is complete), and a model without that stop writes the tag as text.

/**
 * Rules `<name>0..<name>(n-1)` matching any text that does not contain `pattern`: state k means the
 * text so far ends with the first k characters of `pattern`. Right-recursive (tail) references keep
 * llama.cpp's grammar stacks flat however long the text. `pattern` must not repeat its first
 * character (true of "</think>"), so a mismatch goes back to state 1 on that character, else to 0.
 */
export function textWithout(name: string, pattern: string): string {
    const first = pattern[0]!;
    if (pattern.slice(1).includes(first)) throw new Error(`textWithout: ${JSON.stringify(pattern)} repeats its first character`);
    const lit = (c: string) => JSON.stringify(c);
    const cls = (cs: string) =>
        `[^${[...new Set(cs)].map((c) => (c === "]" || c === "\\" || c === "^" || c === "-" ? `\\${c}` : c)).join("")}]`;
    const rules: string[] = [];
    for (let k = 0; k < pattern.length; k++) {
        const alts: string[] = [];
        const next = pattern[k]!;
        // The character that would complete the pattern is not allowed at all.
        if (k + 1 < pattern.length) alts.push(`${lit(next)} ${name}${k + 1}`);
        if (next !== first) alts.push(`${lit(first)} ${name}1`);
        alts.push(`${cls(next + first)} ${name}0`);
        rules.push(`${name}${k} ::= ( ${alts.join(" | ")} )?`);
    }
    return rules.join("\n");
}

const STRING = String.raw`string ::= "\"" ( [^"\\] | "\\" [^\n] )* "\""`;

/** The GBNF: free thinking, then one action after <answer>. */
export const ACTION_GRAMMAR = [
    'root ::= ws "<think>"? thought0 "</think>" ws "<answer>" ws action ws "</answer>"?',
    `ws ::= [ \\t\\n]{0,4}`,
    textWithout("thought", "</think>"),
    'action ::= "finish(message=" string ")" | "do(action=" do-args ")"',
    // Inside parentheses the alternatives may continue on the next lines (llama.cpp ends a top-level rule at a newline).
    String.raw`do-args ::= ( "\"Launch\"" sep "app=" string`,
    String.raw`  | "\"Tap\"" sep "element=" point ( sep "message=" string )?`,
    String.raw`  | ( "\"Type\"" | "\"Type_Name\"" ) sep "text=" string`,
    String.raw`  | "\"Swipe\"" sep "start=" point sep "end=" point`,
    String.raw`  | ( "\"Long Press\"" | "\"Double Tap\"" ) sep "element=" point`,
    String.raw`  | "\"Back\"" | "\"Home\"" | "\"Interact\""`,
    String.raw`  | "\"Wait\"" sep "duration=" string`,
    String.raw`  | ( "\"Take_over\"" | "\"Note\"" ) sep "message=" string`,
    String.raw`  | "\"Call_API\"" sep "instruction=" string )`,
    `sep ::= "," " "?`,
    'point ::= "[" coord "," " "? coord "]"',
    "coord ::= [0-9] | [1-9] [0-9] | [1-9] [0-9] [0-9]",
    STRING,
    "",
].join("\n");
