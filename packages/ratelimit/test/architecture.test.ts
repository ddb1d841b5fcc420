// The layout's laws: no import cycle anywhere in src/ (type-only imports count: they tie files
// together just the same), and a pure core that reaches no validation library and no I/O.
// Imports are read with the TypeScript compiler's own scanner (ts.preProcessFile).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const files = sourceFiles(src);
const known = new Set(files);

/** Every module a file imports or re-exports: relative ones resolved to files in src/, others by name. */
function importsOf(file: string): { local: string[]; external: string[] } {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const local: string[] = [];
  const external: string[] = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) {
      external.push(fileName);
      continue;
    }
    const base = resolve(dirname(file), fileName);
    const target = [`${base}.ts`, join(base, 'index.ts'), base].find((p) => known.has(p));
    if (target) local.push(target);
    else if (!/\.(json|lua)$/.test(fileName)) throw new Error(`${relative(src, file)}: cannot resolve '${fileName}'`);
  }
  return { local, external };
}

type Graph = ReadonlyMap<string, { readonly local: readonly string[] }>;
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** The import cycles, each as the sorted list of files in it (Tarjan's strongly connected components). */
function cycles(graph: Graph): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!.local) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w.startsWith(src) ? relative(src, w) : w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.local.includes(v)) found.push(component.sort());
    }
  };
  for (const f of graph.keys()) if (!order.has(f)) visit(f);
  return found;
}

/** Every file a file reaches through its imports, itself included. */
function reach(file: string): Set<string> {
  const seen = new Set<string>([file]);
  const todo = [file];
  while (todo.length > 0) {
    for (const next of graph.get(todo.pop()!)!.local) {
      if (seen.has(next)) continue;
      seen.add(next);
      todo.push(next);
    }
  }
  return seen;
}

describe('architecture', () => {
  test('src/ has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('the checker finds cycles, self-imports included, and reads imports', () => {
    const toy: Graph = new Map([
      ['a', { local: ['b'] }],
      ['b', { local: ['c'] }],
      ['c', { local: ['a'] }],
      ['d', { local: ['d'] }],
      ['e', { local: ['a'] }],
    ]);
    expect(cycles(toy)).toEqual([['a', 'b', 'c'], ['d']]);
    expect(reach(join(src, 'limiter.ts')).has(join(src, 'model.ts'))).toBe(true);
  });

  const core = ['model.ts', 'result.ts', 'plan.ts', ...readdirSync(join(src, 'algorithms')).map((f) => `algorithms/${f}`)].filter((f) => f.endsWith('.ts'));
  test.each(core)('the pure core: %s reaches no zod, ioredis or node: module', (file) => {
    const reached = [...reach(join(src, file))];
    const external = reached.flatMap((f) => graph.get(f)!.external.map((m) => `${relative(src, f)} -> ${m}`));
    expect(external.filter((e) => /-> (zod|ioredis|node:)/.test(e))).toEqual([]);
    expect(reached.length).toBeGreaterThan(0);
  });
});
