// Small formatting helpers shared by the commands' terminal output.

export function formatBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
        n /= 1024;
        i++;
    }
    return `${n.toFixed(i === 0 ? 0 : n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Left-aligned text table with a header row. */
export function table(header: string[], rows: string[][], rightAlign: number[] = []): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (rightAlign.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Words of `text` in lines of at most `width` columns, the lines after the first indented by `indent` spaces. */
export function wrap(text: string, width: number, indent = 0): string {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(/\s+/).filter(Boolean)) {
        const room = width - (lines.length ? indent : 0);
        if (line && line.length + 1 + word.length > room) {
            lines.push(line);
            line = word;
        } else line = line ? `${line} ${word}` : word;
    }
    if (line || !lines.length) lines.push(line);
    return lines.map((l, i) => (i ? " ".repeat(indent) + l : l)).join("\n");
}

/**
 * table() within `width` columns: when it would be wider, the `flexible` column is narrowed and its
 * cells wrap onto continuation lines (the other cells blank there).
 */
export function fitTable(header: string[], rows: string[][], width: number, flexible: number): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    if (total <= width) return table(header, rows);
    const room = Math.max(12, widths[flexible]! - (total - width));
    const out: string[][] = [];
    for (const r of rows) {
        const parts = wrap(r[flexible] ?? "", room).split("\n");
        for (const [k, p] of parts.entries()) out.push(r.map((c, i) => (i === flexible ? p : k ? "" : c)));
    }
    return table(header, out);
}
