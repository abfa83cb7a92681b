// Worker thread for WAV decoding: mixdown and resampling of a long clip take seconds of CPU, which
// would otherwise stop the server's event loop (and /health) while they run.

import { parentPort, workerData } from "node:worker_threads";
import { wavToMono, type WavLayout } from "./wav-samples.js";

const { bytes, layout, targetRate } = workerData as { bytes: Uint8Array; layout: WavLayout; targetRate: number };
const samples = wavToMono(bytes, layout, targetRate);
parentPort!.postMessage(samples, [samples.buffer as ArrayBuffer]);
