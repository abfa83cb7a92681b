// A turn's requests about its outputs, checked and put in the sampler's terms: n answers, log-probabilities,
// the logit bias (OpenAI's -100..100, -100 a ban) and the seed (-1 or none: random; any other integer,
// reduced to llama.cpp's 32 bits, gives the same answer again on the same server and settings).

import { InvalidRequestError } from "./errors.js";
import type { SamplingOptions } from "./native.js";
import type { SamplingRequest, TurnRequest } from "./turn.js";

/** Most answers one turn may ask for (each is a sequence's worth of work). */
export const MAX_CHOICES = 16;
/** Most alternatives per token (OpenAI's top_logprobs limit). */
export const MAX_TOP_LOGPROBS = 20;

export function checkOutputs(req: TurnRequest): void {
    if (req.n !== undefined && !(Number.isInteger(req.n) && req.n >= 1 && req.n <= MAX_CHOICES))
        throw new InvalidRequestError(`n must be an integer from 1 to ${MAX_CHOICES}`);
    if (req.logprobs !== undefined && !(Number.isInteger(req.logprobs) && req.logprobs >= 0 && req.logprobs <= MAX_TOP_LOGPROBS))
        throw new InvalidRequestError(`top_logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}`);
}

/** The request's sampler fields as the native sampler takes them; token ids are checked against `vocabSize`. */
export function samplerFields(given: SamplingRequest | undefined, vocabSize: number): Partial<SamplingOptions> {
    const { seed, logitBias, ...rest } = given ?? {};
    const out: Partial<SamplingOptions> = { ...rest };
    if (seed !== undefined && seed !== null && seed !== -1) {
        if (!Number.isSafeInteger(seed)) throw new InvalidRequestError("seed must be an integer");
        out.seed = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    }
    if (logitBias?.length) {
        out.logitBias = logitBias.map(([token, bias]) => {
            if (!Number.isInteger(token) || token < 0 || token >= vocabSize)
                throw new InvalidRequestError(`logit_bias names token ${token}, outside the model's vocabulary of ${vocabSize} tokens`);
            if (!(bias >= -100 && bias <= 100))
                throw new InvalidRequestError(`logit_bias values must be from -100 to 100 (token ${token}: ${bias})`);
            return [token, bias === -100 ? Number.NEGATIVE_INFINITY : bias] as const;
        });
    }
    return out;
}
