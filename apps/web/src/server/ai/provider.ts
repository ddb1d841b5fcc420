// AI providers behind one interface: a deterministic local one (the default: no network, stable
// answers for tests and demos, token usage counted like a real model) and any OpenAI-compatible
// API through the Vercel AI SDK.
import 'server-only';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText } from 'ai';

export const FEATURES = ['fan-reply', 'caption', 'performance-analysis', 'sales-optimization'] as const;
export type Feature = (typeof FEATURES)[number];

export interface AiRequest {
  readonly feature: Feature;
  readonly system: string;
  readonly prompt: string;
  /** Upper bound of the answer's length, in tokens: what the limiter reserves for it. */
  readonly maxOutputTokens: number;
  /** Aborted at the call's deadline or when the creator goes away: the upstream request is cancelled. */
  readonly signal: AbortSignal;
}

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
}

/** Token counts as the provider reported them, unchecked: anything, or undefined when missing. */
export interface ReportedUsage {
  readonly inputTokens: unknown;
  readonly outputTokens: unknown;
}

export interface AiResult {
  readonly text: string;
  readonly usage: ReportedUsage;
  readonly model: string;
}

export interface AiProvider {
  /** `'local'` or `'openai-compatible'`. */
  readonly kind: string;
  readonly model: string;
  generate(request: AiRequest): Promise<AiResult>;
}

/** A rough token count (4 characters a token, rounded up, at least 1): the one rounding rule for tokens. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** The prompt's tokens by that rule, each message counted on its own: the estimate and the local model agree. */
export const promptTokens = (system: string, prompt: string) => estimateTokens(system) + estimateTokens(prompt);

const OPENERS: Record<Feature, readonly string[]> = {
  'fan-reply': ['Thank you so much for your message!', 'You just made my day!', 'I really appreciate you reaching out!'],
  caption: ['New drop, new mood.', 'Behind the scenes of something special.', 'Saving the best for you.'],
  'performance-analysis': ['Your engagement is trending in the right direction.', 'Here is what the numbers say.', 'A few patterns stand out this period.'],
  'sales-optimization': ['There is room to grow revenue this month.', 'Three moves could lift your sales.', 'Your best sellers point the way.'],
};

const FOLLOW_UPS: Record<Feature, readonly string[]> = {
  'fan-reply': ['I read every message and yours stood out.', 'Stay tuned, something new is coming this week.', 'Tell me what you would like to see next!'],
  caption: ['#creator #newpost', 'Link in bio.', 'Which one is your favourite?'],
  'performance-analysis': ['Post when your audience is most active (evenings).', 'Reply to comments within the first hour.', 'Double down on the formats with the best saves.'],
  'sales-optimization': ['Bundle your two best sellers at a small discount.', 'Offer a limited-time preview to new subscribers.', 'Raise the price of your most requested item by 10%.'],
};

/** FNV-1a: a stable choice of words for the same prompt. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The default provider: answers from templates, instantly and the same way every time. */
export function createLocalProvider(): AiProvider {
  return {
    kind: 'local',
    model: 'local-demo',
    generate(request) {
      if (request.signal.aborted) return Promise.reject(new Error('aborted'));
      const h = hash(`${request.feature}\n${request.prompt}`);
      const pick = (list: readonly string[], salt: number) => list[(h + salt) % list.length]!;
      const subject = request.prompt.split('\n').find((l) => l.trim())?.trim().slice(0, 80) ?? '';
      const text = `${pick(OPENERS[request.feature], 0)} ${pick(FOLLOW_UPS[request.feature], 1)}${subject ? ` (re: "${subject}")` : ''}`;
      const inputTokens = promptTokens(request.system, request.prompt);
      const outputTokens = Math.min(request.maxOutputTokens, estimateTokens(text));
      return Promise.resolve({ text, usage: { inputTokens, outputTokens }, model: 'local-demo' });
    },
  };
}

export interface OpenAICompatibleOptions {
  /** API base, for example `https://api.openai.com/v1`. */
  baseURL: string;
  apiKey: string | undefined;
  model: string;
}

/** Any OpenAI-compatible chat completions API (OpenAI, Azure, Groq, vLLM, Ollama...). */
export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): AiProvider {
  const provider = createOpenAICompatible({ name: 'openai-compatible', baseURL: options.baseURL, ...(options.apiKey && { apiKey: options.apiKey }), includeUsage: true });
  return {
    kind: 'openai-compatible',
    model: options.model,
    async generate(request) {
      const result = await generateText({
        model: provider.chatModel(options.model),
        instructions: request.system,
        prompt: request.prompt,
        maxOutputTokens: request.maxOutputTokens,
        // one retry, inside the same deadline: the signal aborts the retry's wait and request too
        maxRetries: 1,
        abortSignal: request.signal,
      });
      // the provider's own counts (the SDK turns a missing one into 0); checked before charging
      const raw = result.usage.raw as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
      const usage = raw && typeof raw === 'object' ? { inputTokens: raw.prompt_tokens ?? undefined, outputTokens: raw.completion_tokens ?? undefined } : { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens };
      return { text: result.text, usage, model: options.model };
    },
  };
}
