// The --record folder's index.html: one self-contained page (styles, script and every screenshot
// as a small JPEG inside it; nothing fetched) to replay a run step by step. The model's text is
// untrusted: it goes in as JSON (with <, > and & escaped) and onto the page as textContent only,
// under a Content-Security-Policy that allows no network at all.

export interface PageStep {
    step: number;
    attempt: number;
    app: string;
    action: string;
    thinking: string;
    answer: string;
    raw: string;
    note: string;
    timings: string;
    /** The annotated screenshot as a data: URL (JPEG). */
    image: string;
    /** The full-size annotated PNG, relative to the page. */
    file: string;
}

export interface PageDevice {
    serial: string;
    result: string;
    steps: PageStep[];
}

export interface PageData {
    task: string;
    started: string;
    devices: PageDevice[];
}

/** JSON that cannot end a <script> element or open a comment. */
function scriptJson(value: unknown): string {
    return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#111;color:#eee}
header{padding:12px 16px;background:#1c1c1e;position:sticky;top:0;z-index:1}
h1{font-size:16px;margin:0 0 6px}
button,select{background:#2c2c2e;color:#eee;border:1px solid #444;border-radius:6px;padding:4px 10px;margin-right:6px}
main{display:flex;gap:16px;padding:16px;align-items:flex-start}
#shot{max-height:80vh;max-width:45vw;border:1px solid #333;border-radius:8px}
dl{margin:0}dt{color:#8e8e93;margin-top:10px}dd{margin:2px 0 0;white-space:pre-wrap;word-break:break-word}
.thinking{color:#aeaeb2}.bad{color:#ff6961}
`;

const SCRIPT = `
const data = JSON.parse(document.getElementById("run").textContent);
const $ = (id) => document.getElementById(id);
let device = 0, index = 0, timer = null;
document.title = "autoglm agent: " + data.task;
$("task").textContent = data.task;
$("started").textContent = "started " + data.started;
for (const [i, d] of data.devices.entries()) {
  const o = document.createElement("option");
  o.value = String(i);
  o.textContent = d.serial + " (" + d.steps.length + " steps)";
  $("device").append(o);
}
function show() {
  const d = data.devices[device];
  $("result").textContent = d.result;
  const s = d.steps[index];
  $("pos").textContent = d.steps.length ? (index + 1) + " / " + d.steps.length : "no steps";
  if (!s) return;
  $("shot").src = s.image;
  $("full").href = s.file;
  $("title").textContent = "step " + s.step + (s.attempt > 1 ? " (asked again)" : "") + " | " + s.app;
  for (const k of ["action", "note", "thinking", "answer", "raw", "timings"]) $(k).textContent = s[k];
  $("action").className = s.note.startsWith("unreadable") ? "bad" : "";
}
function go(i) { const n = data.devices[device].steps.length; index = Math.max(0, Math.min(n - 1, i)); show(); }
$("device").onchange = (e) => { device = Number(e.target.value); index = 0; show(); };
$("prev").onclick = () => go(index - 1);
$("next").onclick = () => go(index + 1);
$("play").onclick = () => {
  if (timer) { clearInterval(timer); timer = null; $("play").textContent = "play"; return; }
  $("play").textContent = "pause";
  timer = setInterval(() => { if (index + 1 >= data.devices[device].steps.length) $("play").click(); else go(index + 1); }, 1500);
};
document.onkeydown = (e) => { if (e.key === "ArrowLeft") go(index - 1); if (e.key === "ArrowRight") go(index + 1); };
show();
`;

export function recordPage(data: PageData): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autoglm agent</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 id="task"></h1>
<div><select id="device"></select><button id="prev">&larr; previous</button><button id="next">next &rarr;</button><button id="play">play</button>
<span id="pos"></span> <span id="started"></span></div>
<div id="result"></div>
</header>
<main>
<a id="full"><img id="shot" alt="screenshot"></a>
<dl>
<dt id="title"></dt>
<dt>action</dt><dd id="action"></dd>
<dt>result</dt><dd id="note"></dd>
<dt>thinking</dt><dd id="thinking" class="thinking"></dd>
<dt>answer</dt><dd id="answer"></dd>
<dt>raw output</dt><dd id="raw"></dd>
<dt>timings</dt><dd id="timings"></dd>
</dl>
</main>
<script type="application/json" id="run">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
