// Microphone recordings as the server takes audio: MediaRecorder's compressed clip is decoded by
// the browser, mixed to mono, resampled to 16 kHz (what GLM's audio encoders expect) and written
// as a 16-bit PCM WAV.

const RATE = 16000;

/** Whether this page may record: browsers give the microphone to https and localhost pages only. */
export function canRecord() {
    return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

/** Starts recording; the returned stop() resolves to the clip as a WAV Blob. */
export async function startRecording() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const recorder = new MediaRecorder(stream);
    const chunks = [];
    recorder.ondataavailable = (e) => {
        if (e.data.size > 0) chunks.push(e.data);
    };
    const stopped = new Promise((resolve, reject) => {
        recorder.onstop = () => resolve();
        recorder.onerror = (e) => reject(e.error || new Error("recording failed"));
    });
    recorder.start();
    return {
        async stop() {
            if (recorder.state !== "inactive") recorder.stop();
            await stopped;
            for (const t of stream.getTracks()) t.stop();
            return wavFrom(new Blob(chunks, { type: recorder.mimeType }));
        },
    };
}

/** Any clip the browser can decode, as a mono 16 kHz 16-bit PCM WAV Blob. */
export async function wavFrom(blob) {
    const ctx = new AudioContext();
    let decoded;
    try {
        decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
    } finally {
        void ctx.close();
    }
    const frames = Math.max(1, Math.ceil(decoded.duration * RATE));
    // A one-channel offline context mixes the channels down and resamples while rendering.
    const offline = new OfflineAudioContext(1, frames, RATE);
    const source = offline.createBufferSource();
    source.buffer = decoded;
    source.connect(offline.destination);
    source.start();
    const mono = (await offline.startRendering()).getChannelData(0);
    return new Blob([pcm16Wav(mono, RATE)], { type: "audio/wav" });
}

/** The RIFF/WAVE bytes of `samples` (-1..1) as 16-bit PCM, one channel. */
export function pcm16Wav(samples, rate) {
    const out = new DataView(new ArrayBuffer(44 + samples.length * 2));
    const ascii = (at, s) => {
        for (let i = 0; i < s.length; i++) out.setUint8(at + i, s.charCodeAt(i));
    };
    ascii(0, "RIFF");
    out.setUint32(4, 36 + samples.length * 2, true);
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    out.setUint32(16, 16, true);
    out.setUint16(20, 1, true);
    out.setUint16(22, 1, true);
    out.setUint32(24, rate, true);
    out.setUint32(28, rate * 2, true);
    out.setUint16(32, 2, true);
    out.setUint16(34, 16, true);
    ascii(36, "data");
    out.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
        const v = Math.max(-1, Math.min(1, samples[i]));
        out.setInt16(44 + i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
    }
    return out.buffer;
}
