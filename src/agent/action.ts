// The action language AutoGLM answers in (`do(action="Tap", element=[x,y])`, `finish(message="...")`),
// as typed values once parsed. Coordinates stay in the model's 0-999 space here; the handler maps
// them onto the screenshot's pixels.

/** A point in the model's relative space: 0..999 (1000 tolerated) on each axis, top left first. */
export type Point = [x: number, y: number];

export type Action =
    | { action: "finish"; message: string }
    | { action: "Launch"; app: string }
    /** With `message`, a sensitive tap (payment, privacy): confirmed first. */
    | { action: "Tap"; element: Point; message?: string }
    /** Type_Name types a person's name; it is typed as Type is. */
    | { action: "Type" | "Type_Name"; text: string }
    | { action: "Swipe"; start: Point; end: Point }
    | { action: "Long Press" | "Double Tap"; element: Point }
    | { action: "Back" | "Home" | "Interact" }
    | { action: "Wait"; duration: string }
    /** The user has to act (log in, solve a captcha): confirmed, then the task goes on. */
    | { action: "Take_over"; message: string }
    | { action: "Note"; message: string }
    | { action: "Call_API"; instruction: string }
    /** A well-formed do(...) naming an action the handler does not have (upstream: "Unknown action", the task goes on). */
    | { action: "unknown"; name: string };

export type ActionName = Action["action"];

const quote = (s: string) => JSON.stringify(s);
const point = (p: Point) => `[${p[0]},${p[1]}]`;

/** One short line for people: `Tap [500,300]`, `Type "hello"`, `finish "done"`. */
export function describeAction(a: Action): string {
    switch (a.action) {
        case "finish":
            return `finish ${quote(a.message)}`;
        case "Launch":
            return `Launch ${a.app}`;
        case "Tap":
            return `Tap ${point(a.element)}${a.message !== undefined ? ` (sensitive: ${quote(a.message)})` : ""}`;
        case "Type":
        case "Type_Name":
            return `${a.action} ${quote(a.text)}`;
        case "Swipe":
            return `Swipe ${point(a.start)} -> ${point(a.end)}`;
        case "Long Press":
        case "Double Tap":
            return `${a.action} ${point(a.element)}`;
        case "Wait":
            return `Wait ${a.duration}`;
        case "Take_over":
        case "Note":
            return `${a.action} ${quote(a.message)}`;
        case "Call_API":
            return `Call_API ${quote(a.instruction)}`;
        case "unknown":
            return `unknown action ${quote(a.name)}`;
        default:
            return a.action;
    }
}
