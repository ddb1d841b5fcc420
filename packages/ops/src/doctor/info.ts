// Redis INFO text, read the same way by the doctor and by the ratelimit benchmarks
// (packages/ratelimit/bench/redis-info.ts imports this file by path: it has no imports of its own).

/** Parses an INFO reply into fields. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return fields;
}
