// Open-AutoGLM's request settings (phone_agent/model/client.py ModelConfig, agent.py AgentConfig):
// the model was tuned with them, so the agent sends nothing else.

import type { SamplingRequest } from "../engine/turn.js";

/** temperature 0, top_p 0.85, frequency_penalty 0.2: no top_k, min_p or repeat penalty is sent. */
export const AGENT_SAMPLING: SamplingRequest = Object.freeze({ temperature: 0, topP: 0.85, frequencyPenalty: 0.2 });

export const AGENT_MAX_TOKENS = 3000;

export const DEFAULT_MAX_STEPS = 100;
