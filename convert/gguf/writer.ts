// Streams a GGUF v3 file: header, metadata and tensor table first (sizes are known from shapes),
// then each tensor's bytes in order. Everything goes to "<out>.partial" and is renamed only once
// complete (commit(), which a caller writing several files calls once all of them are complete),
// so an interrupted run never leaves a file that looks finished.

import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, type GgmlType, alignUp, rowBytes } from "../../src/core/gguf/constants.js";
import { ByteSink, type Metadata } from "../../src/core/gguf/metadata.js";

export interface TensorInfo {
    name: string;
    /** ggml order: shape[0] is the row length (innermost, contiguous dimension). */
    shape: number[];
    type: GgmlType;
}

export function tensorBytes(t: TensorInfo): number {
    const rows = t.shape.slice(1).reduce((a, b) => a * b, 1);
    return rowBytes(t.type, t.shape[0]) * rows;
}

/** Serialises header, metadata and tensor infos; returns the bytes and each tensor's data offset. */
export function encodeHeader(metadata: Metadata, tensors: TensorInfo[], alignment = GGUF_DEFAULT_ALIGNMENT) {
    const sink = new ByteSink();
    sink.u32(GGUF_MAGIC);
    sink.u32(GGUF_VERSION);
    sink.u64(tensors.length);
    sink.u64(metadata.entries.size);
    for (const [key, value] of metadata.entries) {
        sink.string(key);
        sink.value(value);
    }
    const offsets: number[] = [];
    let offset = 0;
    for (const t of tensors) {
        sink.string(t.name);
        sink.u32(t.shape.length);
        for (const d of t.shape) sink.u64(d);
        sink.u32(t.type);
        sink.u64(offset);
        offsets.push(offset);
        offset = alignUp(offset + tensorBytes(t), alignment);
    }
    sink.zeros(alignUp(sink.length, alignment) - sink.length);
    return { header: sink.result(), offsets, dataBytes: offset };
}

export class GgufWriter {
    private fh?: FileHandle;
    private position = 0;
    private tensorIndex = 0;
    private writtenInTensor = 0;
    private complete = false;
    private committed = false;
    private readonly tempPath: string;
    readonly totalBytes: number;
    private readonly header: Buffer;
    private readonly alignment: number;

    constructor(
        readonly path: string,
        metadata: Metadata,
        readonly tensors: TensorInfo[],
    ) {
        this.tempPath = `${path}.partial`;
        this.alignment = Number(metadata.value("general.alignment") ?? GGUF_DEFAULT_ALIGNMENT);
        const { header, dataBytes } = encodeHeader(metadata, tensors, this.alignment);
        this.header = header;
        this.totalBytes = header.length + dataBytes;
    }

    async open(): Promise<void> {
        this.fh = await open(this.tempPath, "w");
        await this.write(this.header);
    }

    private async write(buf: Uint8Array): Promise<void> {
        let done = 0;
        while (done < buf.length) {
            const { bytesWritten } = await this.fh!.write(buf, done, buf.length - done, this.position);
            done += bytesWritten;
            this.position += bytesWritten;
        }
    }

    /** Appends bytes of the current tensor; moves to the next tensor when one is complete. */
    async writeTensorData(chunk: Uint8Array): Promise<void> {
        const t = this.tensors[this.tensorIndex];
        if (!t) throw new Error("GGUF writer: more tensor data than the tensor table declares");
        const expected = tensorBytes(t);
        if (this.writtenInTensor + chunk.length > expected) {
            throw new Error(`GGUF writer: tensor ${t.name} got ${this.writtenInTensor + chunk.length} bytes, expected ${expected}`);
        }
        await this.write(chunk);
        this.writtenInTensor += chunk.length;
        if (this.writtenInTensor === expected) {
            const pad = alignUp(this.position, this.alignment) - this.position;
            if (pad) await this.write(new Uint8Array(pad));
            this.tensorIndex++;
            this.writtenInTensor = 0;
        }
    }

    async finish(): Promise<void> {
        if (this.tensorIndex !== this.tensors.length) {
            throw new Error(`GGUF writer: only ${this.tensorIndex} of ${this.tensors.length} tensors were written`);
        }
        if (this.position !== this.totalBytes) throw new Error(`GGUF writer: wrote ${this.position} bytes, expected ${this.totalBytes}`);
        await this.fh!.sync();
        await this.fh!.close();
        this.fh = undefined;
        this.complete = true;
    }

    /** Gives the finished file its name. */
    async commit(): Promise<void> {
        if (!this.complete) throw new Error(`GGUF writer: ${this.path} is not complete`);
        await rename(this.tempPath, this.path);
        this.committed = true;
    }

    /** Closes and deletes the partial file; safe to call at any point before commit(). */
    async abort(): Promise<void> {
        await this.fh?.close().catch(() => {});
        this.fh = undefined;
        if (!this.committed) await unlink(this.tempPath).catch(() => {});
    }
}
