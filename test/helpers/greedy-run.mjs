// Child process of test/vulkan-offload.test.ts: one backend per process (node-llama-cpp loads one
// build). Opens the runtime on `gpu`, answers a text turn then an image turn greedily, and prints JSON:
// where the layers went, the VRAM the model and the encoder took, the token ids; on the CPU also the
// logit margin (best minus second best) at each text step, through node-llama-cpp's own evaluation,
// which marks where the two backends may rightly part (a near-tie).
import { Runtime } from "../../dist/src/engine/runtime.js";
import { readMmproj } from "../../dist/src/engine/encoders.js";

const [model, mmproj, gpu, image, nText, nImage] = process.argv.slice(2);
const greedy = { temperature: 0, topK: 1, topP: 1, minP: 0, repeatPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, seed: 1 };
const vram = async (rt) => (rt.loaded.llama.gpu ? (await rt.loaded.llama.getVramState()).used : 0);

const rt = await Runtime.open({
    model,
    mmproj,
    encoderCaps: await readMmproj(mmproj),
    load: { gpu },
    context: { contextSize: 4096 },
    slots: 1,
});
const out = {
    backend: rt.loaded.backend,
    gpu: rt.loaded.llama.gpu,
    devices: rt.loaded.devices,
    gpuLayers: rt.loaded.gpuLayers,
    totalLayers: rt.loaded.totalLayers,
};
out.vramModel = await vram(rt);

const prompt = "<|user|>\nWrite a short poem about the sea.<|assistant|>\n";
const text = await rt.turn({ prompt, maxTokens: Number(nText), sampling: greedy, ignoreEos: true });
out.textTokens = text.tokens;

process.stderr.write("greedy-run: image turn\n"); // test/vulkan-offload.test.ts reads what ran on the device after this line
const answer = await rt.turn({
    messages: [
        {
            role: "user",
            content: [
                { type: "image", source: { path: image } },
                { type: "text", text: "What is in this picture?" },
            ],
        },
    ],
    maxTokens: Number(nImage),
    sampling: greedy,
    ignoreEos: true,
});
out.imageTokens = answer.tokens;
out.vramWithEncoder = await vram(rt);

if (!rt.loaded.llama.gpu) {
    // Teacher-forced along the CPU's own answer: the margin before each generated token.
    const ctx = await rt.loaded.model.createContext({ contextSize: 512 });
    const input = rt.tokenize(prompt).concat(out.textTokens.slice(0, -1));
    const items = input.map((t, i) =>
        i >= input.length - out.textTokens.length ? [t, { generateNext: { logits: true, token: true } }] : t,
    );
    const results = await ctx.getSequence().controlledEvaluate(items);
    out.margins = [];
    out.nodeLlamaCppTokens = [];
    for (const r of results) {
        if (!r?.next?.logits) continue;
        const top = [...r.next.logits.values()].sort((a, b) => b - a);
        out.margins.push(top[0] - top[1]);
        out.nodeLlamaCppTokens.push(r.next.token);
    }
    await ctx.dispose();
}
await rt.dispose();
console.log(JSON.stringify(out));
