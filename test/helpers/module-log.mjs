// `node --import ./test/helpers/module-log.mjs ...`: logs the modules the process resolves (see module-log-hooks.mjs).
import { register } from "node:module";

register("./module-log-hooks.mjs", import.meta.url);
