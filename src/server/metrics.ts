// Counters for GET /metrics in Prometheus' text format.

import type { TurnResult } from "../engine/turn.js";

export class Metrics {
    requests = 0;
    errors = 0;
    promptTokens = 0;
    completionTokens = 0;
    promptMs = 0;
    decodeMs = 0;
    decodedTokens = 0;

    record(r: TurnResult): void {
        this.promptTokens += r.usage.promptTokens - r.usage.cachedTokens;
        this.completionTokens += r.usage.completionTokens;
        this.promptMs += r.timings.promptMs;
        this.decodeMs += r.timings.decodeMs;
        this.decodedTokens += Math.max(0, r.usage.completionTokens - 1);
    }

    render(gauges: { busySlots: number; slots: number; queued: number; speechModelsOpened: number; mediaDecoding: number }): string {
        const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
        const lines: [string, string, string, number][] = [
            ["autoglm_requests_total", "counter", "Completion requests received.", this.requests],
            ["autoglm_request_errors_total", "counter", "Requests answered with an error.", this.errors],
            ["autoglm_prompt_tokens_total", "counter", "Prompt tokens evaluated (not counting reused ones).", this.promptTokens],
            ["autoglm_completion_tokens_total", "counter", "Tokens generated.", this.completionTokens],
            ["autoglm_prompt_tokens_per_second", "gauge", "Average prompt evaluation speed.", rate(this.promptTokens, this.promptMs)],
            ["autoglm_decode_tokens_per_second", "gauge", "Average decode speed per stream.", rate(this.decodedTokens, this.decodeMs)],
            ["autoglm_slots_busy", "gauge", "Slots generating now.", gauges.busySlots],
            ["autoglm_slots_total", "gauge", "Slots (--parallel).", gauges.slots],
            ["autoglm_queue_length", "gauge", "Requests waiting for a slot.", gauges.queued],
            ["autoglm_media_decoding", "gauge", "Images and audio clips being decoded now, or waiting to be.", gauges.mediaDecoding],
            [
                "autoglm_speech_model_loads_total",
                "counter",
                "Times the speech model (one context, shared by all audio requests) was loaded.",
                gauges.speechModelsOpened,
            ],
        ];
        return lines
            .map(([name, type, help, v]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${Number.isFinite(v) ? v : 0}\n`)
            .join("");
    }
}
