// Module hooks (registered by module-log.mjs) that append every resolved module URL to the file
// named by AUTOGLM_MODULE_LOG, so a test can see which packages a command loaded.
import { appendFileSync } from "node:fs";

export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    if (process.env.AUTOGLM_MODULE_LOG) appendFileSync(process.env.AUTOGLM_MODULE_LOG, `${r.url}\n`);
    return r;
}
