// Types for wav-decoder (the package ships none).
declare module "wav-decoder" {
    interface AudioData { sampleRate: number; channelData: Float32Array[] }
    const WavDecoder: { decode(buffer: ArrayBuffer | Uint8Array, opts?: { symmetric?: boolean }): Promise<AudioData> };
    export default WavDecoder;
}
