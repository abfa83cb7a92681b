// Option value parsers shared by the commands: a bad number is a one-line usage error.

import { UserError } from "../core/errors.js";

export function numberOption(flag: string, opts: { integer?: boolean; positive?: boolean } = {}) {
    return (value: string): number => {
        const n = Number(value);
        const ok = value.trim() !== "" && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (!opts.positive || n > 0);
        if (!ok)
            throw new UserError(
                `${flag} must be a${opts.positive ? " positive" : ""}${opts.integer ? " integer" : " number"}, got ${JSON.stringify(value)}`,
            );
        return n;
    };
}

/** --gpu-layers: a count (llama.cpp's -ngl 99 means all; node-llama-cpp caps it at the model's layers), max/all, or auto. */
export function gpuLayersOption(flag: string) {
    return (value: string): number | "max" | "auto" => {
        const v = value.trim().toLowerCase();
        if (v === "max" || v === "all") return "max";
        if (v === "auto") return "auto";
        const n = Number(v);
        if (v === "" || !Number.isInteger(n) || n < 0)
            throw new UserError(`${flag} must be a number of layers >= 0, max, all or auto, got ${JSON.stringify(value)}`);
        return n;
    };
}
