import { getLlama } from "node-llama-cpp";
import { nativeAddon } from "/work/main/dist/src/engine/native.js";
const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const addon = nativeAddon();
const threads = Number(process.argv[3] ?? 2);
const ctx = new addon.NativeContext(model._model, { contextSize: 1024, threads, batchSize: 512 });
const pp = Int32Array.from({ length: 512 }, (_, i) => (i * 7919) % 30000);
for (let r = 0; r < 3; r++) {
  ctx.removeTokens(0, 0);
  const e = await ctx.evaluate(0, pp, 0);
  ctx.removeTokens(0, 0);
  const g = await ctx.generate({ seq: 0, startPos: 0, prompt: Int32Array.of(1), maxTokens: 128, ignoreEog: true, sampling: { temperature: 0 } });
  console.log("pp512", (512 / e.promptMs * 1000).toFixed(1), "tok/s  tg128", (127 / g.decodeMs * 1000).toFixed(1), "tok/s");
}
ctx.dispose();
