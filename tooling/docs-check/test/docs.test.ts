// The repository's docs against the repository, and the checker against docs known to be wrong.
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { anchors, checkMarkdown, checkRepository, loadRepository, type Repository } from '../src/check';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('the repository docs', () => {
  it('have working links, real commands and known environment variables', () => {
    const repo = loadRepository(root);
    expect(repo.files.filter((f) => f.endsWith('.md')).length).toBeGreaterThan(10);
    const problems = checkRepository(repo).map((p) => `${p.where}: ${p.message}`);
    expect(problems).toEqual([]);
  });
});

describe('the checker', () => {
  const repo: Repository = {
    root,
    files: ['README.md', 'docs/a.md', 'packages/x/package.json', 'packages/x/README.md', 'packages/x/src/env.ts'],
    packages: new Map([
      ['root', { dir: '.', scripts: new Set(['test', 'start']) }],
      ['@airl/x', { dir: 'packages/x', scripts: new Set(['build', 'doctor']) }],
    ]),
    envNames: new Set(['REDIS_URL']),
    constants: new Set(['AI_PLANS']),
  };
  const check = (md: string, file = 'docs/a.md') => checkMarkdown(repo, file, md).map((p) => p.message);

  it('accepts what exists', () => {
    const md = [
      '# Title',
      '## Sub `code` here',
      'See [readme](../README.md), [pkg](../packages/x/README.md), [self](#sub-code-here), [web](https://example.com).',
      'Run `pnpm --filter @airl/x run build`, `pnpm --filter @airl/x doctor --json`, `npm test` with `REDIS_URL`.',
      '```sh',
      'REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @airl/x run doctor',
      '[not a link](nowhere.md)',
      '```',
    ].join('\n');
    expect(check(md)).toEqual([]);
  });

  it('reports missing files, missing anchors and links out of the repository', () => {
    expect(check('[a](missing.md) [b](#nope) [c](../../outside.md)')).toEqual([
      'link missing.md: docs/missing.md does not exist',
      'link #nope: docs/a.md has no heading #nope',
      'link ../../outside.md points outside the repository',
    ]);
  });

  it('reports unknown packages and scripts', () => {
    expect(check('`pnpm --filter @airl/y run build` `pnpm --filter @airl/x run nope` `npm run bench`')).toEqual([
      'pnpm --filter @airl/y: no workspace package has that name',
      '--filter @airl/y: no workspace package has that name',
      "pnpm --filter @airl/x nope: @airl/x has no script 'nope'",
      'npm run bench: neither the root package.json nor root has that script',
    ]);
  });

  it('reports repository paths in code that do not exist, unless git ignores them', () => {
    expect(check('`packages/x/src/env.ts` `packages/x/src/gone.ts` `packages/x/.env.local` `docs/`')).toEqual(['path packages/x/src/gone.ts does not exist in the repository']);
  });

  it('reports environment variables no code reads', () => {
    expect(check('Set `RATE_LIMIT_NOPE=1` and `REDIS_URL`; `AI_PLANS` is a constant.')).toEqual(['RATE_LIMIT_NOPE is read nowhere in the code and listed in no .env.example']);
  });

  it('makes GitHub anchors, numbering duplicates', () => {
    expect([...anchors('# A b\n## Options of `rateLimited()`\n## A b\n```\n# not a heading\n```')]).toEqual(['a-b', 'options-of-ratelimited', 'a-b-1']);
  });
});
