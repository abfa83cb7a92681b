// Option value parsers shared by the commands: a bad number is a one-line usage error.

import { UserError } from "../core/errors.js";

export function numberOption(flag: string, opts: { integer?: boolean; positive?: boolean } = {}) {
    return (value: string): number => {
        const n = Number(value);
        const ok = value.trim() !== "" && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (!opts.positive || n > 0);
        if (!ok) throw new UserError(`${flag} must be a${opts.positive ? " positive" : ""}${opts.integer ? " integer" : " number"}, got ${JSON.stringify(value)}`);
        return n;
    };
}
