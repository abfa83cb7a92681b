// Draws what an action did onto the screenshot the model saw: a ring where it tapped (two for a
// double tap, a filled one for a long press), an arrow for a swipe. For the --record folder.

import type { Gesture } from "./handler.js";

const COLOR = "#ff2d55";

function overlay(g: Gesture, width: number, height: number): string {
    const r = Math.max(12, Math.round(Math.min(width, height) / 22));
    const w = Math.max(3, Math.round(r / 4));
    const ring = (x: number, y: number, radius: number, fill = "none") =>
        `<circle cx="${x}" cy="${y}" r="${radius}" fill="${fill}" stroke="${COLOR}" stroke-width="${w}"/>`;
    let shapes: string;
    switch (g.kind) {
        case "tap":
            shapes = ring(g.x, g.y, r) + ring(g.x, g.y, w, COLOR);
            break;
        case "double-tap":
            shapes = ring(g.x, g.y, r) + ring(g.x, g.y, Math.round(r * 1.6)) + ring(g.x, g.y, w, COLOR);
            break;
        case "long-press":
            shapes = ring(g.x, g.y, r, "rgba(255,45,85,0.45)");
            break;
        case "swipe":
            shapes =
                ring(g.x1, g.y1, r) +
                `<line x1="${g.x1}" y1="${g.y1}" x2="${g.x2}" y2="${g.y2}" stroke="${COLOR}" stroke-width="${w}" marker-end="url(#head)"/>`;
            break;
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><marker id="head" markerWidth="4" markerHeight="4" refX="2" refY="2" orient="auto"><path d="M0,0 L4,2 L0,4 z" fill="${COLOR}"/></marker></defs>${shapes}</svg>`;
}

/** The screenshot with the gesture drawn on it (PNG); the screenshot itself when there is none. */
export async function annotate(png: Buffer, width: number, height: number, gesture?: Gesture): Promise<Buffer> {
    if (!gesture) return png;
    const { default: sharp } = await import("sharp");
    return sharp(png)
        .composite([{ input: Buffer.from(overlay(gesture, width, height)), top: 0, left: 0 }])
        .png()
        .toBuffer();
}

/** A small JPEG of an image, for the replay page. */
export async function thumbnail(png: Buffer, width = 360): Promise<Buffer> {
    const { default: sharp } = await import("sharp");
    return sharp(png).resize({ width, withoutEnlargement: true }).jpeg({ quality: 75 }).toBuffer();
}
