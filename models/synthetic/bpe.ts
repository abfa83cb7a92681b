// A tiny, deterministic byte-level BPE trainer, used to give synthetic checkpoints a real
// tokenizer.json (GPT-2 byte alphabet, merges learned from a built-in text) rather than a fake one.

/** GPT-2's reversible byte -> printable character map used by byte-level BPE. */
export function bytesToUnicode(): string[] {
    const printable: number[] = [];
    for (let c = 0x21; c <= 0x7e; c++) printable.push(c);
    for (let c = 0xa1; c <= 0xac; c++) printable.push(c);
    for (let c = 0xae; c <= 0xff; c++) printable.push(c);
    const map: string[] = new Array(256);
    let extra = 0;
    for (let b = 0; b < 256; b++) {
        map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
    }
    return map;
}

/** The GLM-4 pre-tokenizer split pattern (same as the `Split` regex in GLM-4's tokenizer.json). */
export const GLM4_PRETOKENIZER_PATTERN =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The same pattern in JavaScript syntax (no inline (?i:) groups). */
const JS_PATTERN =
    /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export interface BpeModel {
    /** Token strings in id order: the 256 byte symbols first, then one per merge. */
    tokens: string[];
    merges: [string, string][];
}

export function trainBpe(corpus: string, mergeCount: number): BpeModel {
    const byteMap = bytesToUnicode();
    const encoder = new TextEncoder();
    const wordCounts = new Map<string, number>();
    for (const piece of corpus.match(JS_PATTERN) ?? []) {
        const mapped = Array.from(encoder.encode(piece), (b) => byteMap[b]).join("");
        wordCounts.set(mapped, (wordCounts.get(mapped) ?? 0) + 1);
    }
    const words = [...wordCounts].map(([w, count]) => ({ symbols: Array.from(w), count }));
    const tokens = [...byteMap];
    const merges: [string, string][] = [];
    const known = new Set(tokens);
    while (merges.length < mergeCount) {
        const pairs = new Map<string, number>();
        for (const { symbols, count } of words) {
            for (let i = 0; i + 1 < symbols.length; i++) {
                const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
                pairs.set(key, (pairs.get(key) ?? 0) + count);
            }
        }
        let best: string | undefined;
        let bestCount = 0;
        for (const [key, count] of pairs) {
            if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
                best = key;
                bestCount = count;
            }
        }
        if (!best || bestCount < 2) break;
        const [a, b] = best.split("\u0000");
        merges.push([a, b]);
        if (!known.has(a + b)) {
            tokens.push(a + b);
            known.add(a + b);
        }
        for (const w of words) {
            const s = w.symbols;
            for (let i = 0; i + 1 < s.length; i++) {
                if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
            }
        }
    }
    return { tokens, merges };
}

/** Built-in training text: plain English plus the phone-agent vocabulary AutoGLM produces. */
export const CORPUS = `
The quick brown fox jumps over the lazy dog. A local assistant answers questions about the screen,
reads what the user said, and replies in a few words. Open the settings, then tap the search box and
type the name of the contact. Swipe up to see more messages. The weather today is sunny with a light
wind from the west; tomorrow there will be rain in the morning and clear skies in the afternoon.
do(action="Tap", element=[500, 820]) do(action="Type", text="hello") do(action="Swipe", start=[500, 900], end=[500, 200])
do(action="Back") do(action="Home") do(action="Launch", app="Settings") finish(message="The task is complete.")
<think>The user wants to open the settings app. The icon is in the top row.</think><answer>do(action="Tap", element=[120, 90])</answer>
What is in this picture? It shows a phone screen with a list of apps, a clock, and a search bar.
Describe the image. Transcribe the audio. Answer the question in one sentence. Thank you very much!
1234567890 3.14 2026-11-24 09:30 AM 100% battery, Wi-Fi connected, 5G signal.
`.repeat(3);
