// turbo runs tasks in strict env mode: a variable that is not in a task's passThroughEnv (or the
// root's globalPassThroughEnv) never reaches it. So every variable an app's .env.example documents
// must be passed to its `start` and `dev` tasks, or `AI_TIMEOUT=10s npm start` silently runs with
// the default and `BIND_HOST=0.0.0.0 npm start` still listens on loopback.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const read = (file: string) => readFileSync(`${root}/${file}`, 'utf8');

const global = (JSON.parse(read('turbo.json')) as { globalPassThroughEnv?: string[] }).globalPassThroughEnv ?? [];

describe.each(['apps/web', 'apps/admin'])('%s', (app) => {
  // `# NAME=` or `NAME=` at the start of a line: a variable the file documents
  const documented = [...new Set(read(`${app}/.env.example`).match(/^#? ?[A-Z][A-Z0-9_]+(?==)/gm)!.map((n) => n.replace(/^#? ?/, '')))];
  const tasks = (JSON.parse(read(`${app}/turbo.json`)) as { tasks: Record<string, { passThroughEnv?: string[] }> }).tasks;

  it('documents variables (the pattern finds them)', () => {
    expect(documented.length).toBeGreaterThan(10);
  });

  it.each(['start', 'dev'])('passes every documented variable to `turbo run %s`', (task) => {
    const passed = new Set([...global, ...(tasks[task]?.passThroughEnv ?? [])]);
    expect(documented.filter((n) => !passed.has(n))).toEqual([]);
  });
});
