// Reading what Redis answers for the store's own commands (controls, inspect, boards, streams),
// whatever shape the client gives: RESP2 flat arrays (ioredis), RESP3 maps and pairs (node-redis),
// Maps and pairs (GLIDE, through its adapter).
// The Lua scripts' argument layout and check replies live in src/lua/protocol.ts.
import type { Control, StreamEntry } from '../types';

export function parseControl(json: unknown): Control | undefined {
  if (typeof json !== 'string' || !json) return undefined;
  try {
    const c = JSON.parse(json) as Control;
    // anything else (written by another version) is no control at all
    const decided = (d: unknown) => typeof d === 'object' && d !== null && typeof (d as { until?: unknown }).until === 'number';
    return decided(c.override) || decided(c.block) ? c : undefined;
  } catch {
    return undefined;
  }
}

/** HGETALL: a flat array, `[field, value]` pairs, an object or a Map, as `[field, value]` pairs. */
export function hashEntries(reply: unknown): [string, string][] {
  if (reply instanceof Map) return [...reply].map(([k, v]) => [String(k), String(v)]);
  if (Array.isArray(reply) && Array.isArray(reply[0])) return (reply as unknown[][]).map(([k, v]) => [String(k), String(v)]);
  if (Array.isArray(reply)) {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
    return out;
  }
  return typeof reply === 'object' && reply !== null ? Object.entries(reply).map(([k, v]) => [k, String(v)]) : [];
}

/** ZREVRANGE ... WITHSCORES: flat (RESP2) or `[member, score]` pairs (RESP3). */
export function scoredMembers(reply: unknown): { identifier: string; amount: number }[] {
  const flat = (reply as unknown[]).flat();
  const top: { identifier: string; amount: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) top.push({ identifier: String(flat[i]), amount: Number(flat[i + 1]) });
  return top;
}

/** XREVRANGE: `[id, [field, value, ...]]` entries, or a Map of id to fields. */
export function streamEntries(reply: unknown): StreamEntry[] {
  return (reply instanceof Map ? [...reply] : (reply as [unknown, unknown][])).map(([id, raw]): StreamEntry => {
    const fields: Record<string, string> = {};
    for (const [k, v] of hashEntries(raw)) fields[k] = v;
    return { id: String(id), fields };
  });
}
