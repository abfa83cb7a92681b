// `autoglm pull REPO[:QUANT]`: a model from the Hugging Face Hub into the models folder, ready for
// `-m NAME`. A safetensors checkpoint is downloaded and converted (Q4_K_M text + F16 encoder by
// default); a GGUF repository gives its file of that quantization and its mmproj. The work is in
// src/cli/pull/ and src/hub/.

import { Command, Option } from "commander";
import { OUT_TYPES } from "../../../convert/out-types.js";
import { parseRepoRef } from "../../hub/repo-ref.js";
import { formatBytes } from "../format.js";
import { withInterrupt } from "../interrupt.js";
import { modelsFolder } from "../models-folder.js";
import { numberOption } from "../parse.js";
import { pulledModels } from "../pulled-models.js";
import { pull } from "../pull/pull.js";
import { pullProgress } from "../pull/progress.js";
import { statSync } from "node:fs";
import { join } from "node:path";

interface PullFlags {
    outtype?: string;
    mmprojOuttype: string;
    force?: boolean;
    keepDownload?: boolean;
    threads?: number;
}

export function pullCommand(): Command {
    return new Command("pull")
        .description(
            "download a model from Hugging Face into the models folder: a safetensors checkpoint (zai-org/AutoGLM-Phone-9B) is converted to GGUF, a GGUF repository (user/repo:Q4_K_M) gives its file and mmproj",
        )
        .argument("<repo>", "owner/name[:QUANT] (e.g. zai-org/AutoGLM-Phone-9B, zai-org/GLM-ASR-Nano-2512, user/repo-GGUF:Q4_K_M)")
        .addOption(
            new Option("--outtype <type>", "text model type for a converted checkpoint (default: q4_k_m; a :TAG says the same)").choices(
                OUT_TYPES,
            ),
        )
        .addOption(
            new Option("--mmproj-outtype <type>", "vision/audio encoder type for a converted checkpoint")
                .choices(["f16", "bf16", "q8_0", "f32"])
                .default("f16"),
        )
        .option("--force", "pull again even when the model is already in the models folder")
        .option("--keep-download", "keep the downloaded checkpoint in the Hugging Face cache after converting it (for other types later)")
        .option(
            "--threads <n>",
            "conversion worker threads (default: one per core)",
            numberOption("--threads", { integer: true, positive: true }),
        )
        .addHelpText(
            "after",
            `
Downloads go to the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub),
shared with Python's huggingface_hub: an interrupted pull resumes where it stopped, and files it already
holds are not downloaded again. Every file is checked against the Hub's sha256 (git's id for small files).
HF_ENDPOINT (a mirror), HF_TOKEN (private or gated models; else the token \`huggingface-cli login\` saved)
and HF_HUB_OFFLINE=1 (use only the cache) mean what they mean for huggingface_hub.
Models go to ${modelsFolder()}/<owner>/<name>/<QUANT>/ ($AUTOGLM_MODELS): -m <name> then finds the model
and its encoder; autoglm models lists them, autoglm rm removes one.`,
        )
        .action(async (given: string, f: PullFlags) => {
            const ref = parseRepoRef(given);
            const folder = modelsFolder();
            const progress = pullProgress();
            const started = Date.now();
            let result: Awaited<ReturnType<typeof pull>>;
            try {
                result = await withInterrupt((signal) =>
                    pull(
                        {
                            ref,
                            modelsFolder: folder,
                            outtype: f.outtype,
                            mmprojOuttype: f.mmprojOuttype,
                            force: f.force,
                            keepDownload: f.keepDownload,
                            threads: f.threads,
                        },
                        progress,
                        signal,
                    ),
                );
            } catch (e) {
                progress.stop();
                if ((e as Error)?.name === "AbortError")
                    process.stderr.write("pull: stopped; what was downloaded is kept, and the same command resumes\n");
                throw e;
            }
            progress.stop();
            const { record, dir } = result;
            const size = (file: string) => formatBytes(statSync(join(dir, file)).size);
            const short = pulledModels(folder).filter((p) => p.repo.split("/")[1] === record.repo.split("/")[1]).length === 1;
            const callIt = short ? record.repo.split("/")[1]! : result.name;
            if (result.existed)
                process.stderr.write(
                    `${result.name} is already in the models folder (commit ${record.commit.slice(0, 12)}; --force pulls it again)\n`,
                );
            else
                process.stderr.write(
                    `pulled ${result.name} in ${((Date.now() - started) / 1000).toFixed(1)} s (${formatBytes(result.downloadedBytes)} downloaded, commit ${record.commit.slice(0, 12)})\n`,
                );
            process.stdout.write(
                `${result.name}\n  model   ${join(dir, record.model)} (${size(record.model)})\n${record.mmproj ? `  encoder ${join(dir, record.mmproj)} (${size(record.mmproj)})\n` : ""}next: autoglm chat -m ${callIt}${record.mmproj ? ` | autoglm describe screenshot.png -m ${callIt}` : ""} | autoglm serve -m ${callIt}\n`,
            );
        });
}
