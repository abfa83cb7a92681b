// `autoglm ps --url http://host:port`: what a running autoglm serve has loaded and is doing, from
// its own /v1/models and /metrics (ollama ps for a server).

import { Command } from "commander";
import { UserError } from "../../core/errors.js";
import { formatBytes } from "../format.js";

interface ModelMeta {
    file?: string;
    architecture?: string;
    backend?: string;
    devices?: string[];
    gpu_layers?: number;
    n_layers?: number;
    n_ctx?: number;
    n_ctx_train?: number;
    n_slots?: number;
    size?: number;
    modalities?: { vision?: boolean; audio?: boolean };
}

/** Prometheus text -> name: value (autoglm's own metrics have no labels). */
function parseMetrics(text: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of text.split("\n")) {
        const m = /^([a-zA-Z_:][\w:]*)\s+(\S+)$/.exec(line.trim());
        if (m) out[m[1]!] = Number(m[2]);
    }
    return out;
}

export function psCommand(): Command {
    return new Command("ps")
        .description(
            "show what a running autoglm serve has loaded (model, backend, layers, context, slots, queue) from its /v1/models and /metrics",
        )
        .option("--url <url>", "the server's address", "http://127.0.0.1:8000")
        .option("--api-key <key>", "the server's bearer key, if it needs one")
        .option("--json", "print {models, metrics} as JSON")
        .action(async (opts: { url: string; apiKey?: string; json?: boolean }) => {
            const base = opts.url.replace(/\/+$/, "");
            const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
            const get = async (path: string): Promise<Response> => {
                let r: Response;
                try {
                    r = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
                } catch (e) {
                    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
                    throw new UserError(`no server answers at ${base} (${cause}); start one with autoglm serve`);
                }
                if (r.status === 401) throw new UserError(`${base} needs an API key: give --api-key`);
                if (r.status === 503) throw new UserError(`${base} is still loading its model`);
                if (!r.ok) throw new UserError(`${base}${path} answered HTTP ${r.status}`);
                return r;
            };
            let models: { id: string; max_model_len?: number; meta?: ModelMeta }[];
            try {
                models = ((await (await get("/v1/models")).json()) as { data: typeof models }).data;
            } catch (e) {
                if (e instanceof UserError) throw e;
                throw new UserError(`${base}/v1/models did not answer with a model list: is it an autoglm or OpenAI-compatible server?`);
            }
            const metrics = parseMetrics(await (await get("/metrics")).text());
            if (opts.json) {
                process.stdout.write(`${JSON.stringify({ url: base, models, metrics }, null, 2)}\n`);
                return;
            }
            for (const m of models) {
                const meta = m.meta ?? {};
                const layers =
                    meta.gpu_layers !== undefined && meta.n_layers !== undefined
                        ? ` | ${meta.gpu_layers}/${meta.n_layers} layers on the GPU`
                        : "";
                const media = [meta.modalities?.vision ? "images" : "", meta.modalities?.audio ? "audio" : ""].filter(Boolean).join(", ");
                process.stdout.write(
                    `${m.id}: ${meta.file ?? "(file not reported)"} | ${meta.architecture ?? "?"}${meta.size ? ` | ${formatBytes(meta.size)}` : ""} | backend ${meta.backend ?? "?"}${meta.devices?.length ? ` (${meta.devices.join(", ")})` : ""}${layers}\n`,
                );
                process.stdout.write(
                    `  context ${m.max_model_len ?? meta.n_ctx ?? "?"} tokens per slot (trained: ${meta.n_ctx_train ?? "?"})${media ? ` | ${media}` : ""}\n`,
                );
            }
            const n = (k: string) => metrics[`autoglm_${k}`] ?? 0;
            process.stdout.write(
                `slots ${n("slots_busy")}/${n("slots_total")} busy | queue ${n("queue_length")} | requests ${n("requests_total")} (${n("request_errors_total")} errors) | tokens ${n("prompt_tokens_total")} prompt, ${n("completion_tokens_total")} generated\n`,
            );
        });
}
