// `owner/name[:QUANT]` as `autoglm pull` takes it (llama.cpp's -hf spelling; ollama's hf.co/ prefix
// and a copied https://huggingface.co/owner/name address work too), checked as huggingface_hub's
// validate_repo_id checks a repository id, so that nothing odd reaches a URL or a folder name.

import { UserError } from "../core/errors.js";

export interface RepoRef {
    /** owner/name as given (the Hub matches it without regard to case). */
    repo: string;
    owner: string;
    name: string;
    /** The tag after ':' (a GGUF quantization, or a conversion type), upper-cased. */
    quant?: string;
}

const PART = /^[A-Za-z0-9][\w.-]{0,95}$/;

export function parseRepoRef(given: string): RepoRef {
    const bad = (why: string) =>
        new UserError(`${JSON.stringify(given)} is not a Hugging Face model: ${why} (e.g. zai-org/AutoGLM-Phone-9B, or user/repo:Q4_K_M)`);
    let s = given
        .trim()
        .replace(/^https?:\/\/(www\.)?(huggingface\.co|hf\.co)\//, "")
        .replace(/^(huggingface\.co|hf\.co)\//, "");
    s = s.replace(/\/(tree|blob|resolve)\/.*$/, "").replace(/\/+$/, "");
    let quant: string | undefined;
    const colon = s.lastIndexOf(":");
    if (colon >= 0) {
        quant = s.slice(colon + 1);
        s = s.slice(0, colon);
        if (!/^[A-Za-z0-9][\w.-]{0,31}$/.test(quant)) throw bad(`the tag after ':' should be a quantization such as Q4_K_M`);
        quant = quant.toUpperCase();
    }
    const parts = s.split("/");
    if (parts.length !== 2) throw bad("give owner/name");
    const [owner, name] = parts as [string, string];
    for (const p of parts) {
        if (!PART.test(p) || p.includes("--") || p.includes("..") || /[.-]$/.test(p)) throw bad(`${JSON.stringify(p)} is not a valid name`);
    }
    if (name.endsWith(".git")) throw bad("the name cannot end in .git");
    return { repo: `${owner}/${name}`, owner, name, quant };
}
