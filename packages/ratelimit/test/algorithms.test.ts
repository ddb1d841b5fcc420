// The algorithms are one design written twice: each file of src/algorithms/ has a Lua include of
// the same name in src/lua/include/ with the same operations, and plan.lua dispatches to each as
// src/model.ts does, so the mirror can be reviewed file against file. (Whether both give the same
// answers is the model-based suite's job, test/model.test.ts.)
import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ALGORITHMS } from '../src/algorithms';
import { calendarMonth, fixedWindow } from '../src/algorithms/fixed-window';
import { slidingLog } from '../src/algorithms/sliding-log';
import { slidingWindow } from '../src/algorithms/sliding-window';
import { tokenBucket } from '../src/algorithms/token-bucket';
import { AlgorithmCode } from '../src/policy';

const OPERATIONS = ['adjust', 'charge', 'load', 'outcome', 'remaining'];
// each include's function prefix, and the records of its TypeScript file
const MIRRORS = {
  'fixed-window': { prefix: 'fixed', records: [fixedWindow, calendarMonth] },
  'sliding-log': { prefix: 'log', records: [slidingLog] },
  'sliding-window': { prefix: 'window', records: [slidingWindow] },
  'token-bucket': { prefix: 'bucket', records: [tokenBucket] },
};
const source = (path: string) => readFileSync(new URL(`../src/${path}`, import.meta.url), 'utf8');

describe('algorithms, TypeScript against Lua', () => {
  it('every algorithm file has its Lua include, and nothing else is in either folder', () => {
    const ts = readdirSync(new URL('../src/algorithms/', import.meta.url)).map((f) => f.replace(/\.ts$/, ''));
    const lua = readdirSync(new URL('../src/lua/include/', import.meta.url)).map((f) => f.replace(/\.lua$/, ''));
    const names = Object.keys(MIRRORS).sort();
    expect(ts.filter((f) => !['index', 'math', 'types'].includes(f)).sort()).toEqual(names);
    expect(lua.filter((f) => !['lib', 'plan', 'anomaly'].includes(f)).sort()).toEqual(names);
  });

  it.each(Object.entries(MIRRORS))('%s: the record and the include define the same operations, and both dispatches reach them', (name, { prefix, records }) => {
    for (const record of records) {
      expect(
        Object.entries(record)
          .filter(([, v]) => typeof v === 'function')
          .map(([k]) => k)
          .sort(),
      ).toEqual(OPERATIONS);
    }
    const include = source(`lua/include/${name}.lua`);
    const plan = source('lua/include/plan.lua');
    for (const op of OPERATIONS) {
      expect(include).toMatch(new RegExp(`^local function ${prefix}_${op}\\(`, 'm'));
      // called, or listed in plan.lua's table of operations by code
      expect(plan).toMatch(new RegExp(`\\b${prefix}_${op}[(,\\s]`));
    }
  });

  it('every algorithm code has its record', () => {
    expect(ALGORITHMS[AlgorithmCode['sliding-log']]).toBe(slidingLog);
    expect(ALGORITHMS[AlgorithmCode['sliding-window']]).toBe(slidingWindow);
    expect(ALGORITHMS[AlgorithmCode['token-bucket']]).toBe(tokenBucket);
    expect(ALGORITHMS[AlgorithmCode['fixed-window']]).toBe(fixedWindow);
    expect(ALGORITHMS[AlgorithmCode.month]).toBe(calendarMonth);
  });
});
