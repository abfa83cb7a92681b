// What the user sets for every answer, kept in localStorage (a few bytes, read before the page
// draws, so the panel never shows a stale value), and what each setting means in a request.

const STORE = "autoglm.settings";
/** The switch the page had before the settings panel; read once so an old choice carries over. */
const OLD_THINKING = "autoglm.thinking";

/**
 * maxTokens: an answer's limit. 2,048 holds a long answer with its thinking; without a limit one
 * answer may run until the context is full (minutes of noise on the demo model).
 * temperature: null is the model's own default (the server's, as with any client that omits it).
 */
export const DEFAULTS = Object.freeze({ system: "", temperature: null, maxTokens: 2048, thinking: true });

function store() {
    try {
        return window.localStorage;
    } catch {
        return null;
    }
}

/** The saved settings, each checked; a missing or broken one is its default. */
export function loadSettings() {
    let saved = {};
    try {
        saved = JSON.parse(store()?.getItem(STORE) || "{}") || {};
    } catch {
        saved = {};
    }
    const old = store()?.getItem(OLD_THINKING);
    if (saved.thinking === undefined && old) saved.thinking = old !== "off";
    return {
        system: typeof saved.system === "string" ? saved.system : DEFAULTS.system,
        temperature:
            typeof saved.temperature === "number" && saved.temperature >= 0 && saved.temperature <= 2
                ? saved.temperature
                : DEFAULTS.temperature,
        maxTokens: Number.isInteger(saved.maxTokens) && saved.maxTokens >= 1 ? saved.maxTokens : DEFAULTS.maxTokens,
        thinking: typeof saved.thinking === "boolean" ? saved.thinking : DEFAULTS.thinking,
    };
}

export function saveSettings(settings) {
    try {
        store()?.setItem(STORE, JSON.stringify(settings));
        store()?.removeItem(OLD_THINKING);
    } catch {
        /* full or refused: the settings hold for this page only */
    }
}

/** The request fields the settings set (the system prompt goes first among the messages). */
export function requestFields(settings) {
    return {
        max_tokens: settings.maxTokens,
        ...(settings.temperature === null ? {} : { temperature: settings.temperature }),
        chat_template_kwargs: { enable_thinking: settings.thinking },
    };
}
