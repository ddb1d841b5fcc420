// What the docs say, checked against the repository, so they cannot drift from it:
// - relative links (and their #anchors) name files and headings that exist, inside the repository,
//   and so do repository paths written in code (`packages/ratelimit/src/redis.ts`);
// - `pnpm --filter <pkg> [run] <script>` names a workspace package and one of its scripts,
//   `npm run <script>` / `npm test` / `npm start` a script of the root or of the nearest package;
// - environment variables named in code spans and code blocks (REDIS_*, RATE_LIMIT_*, AI_*,
//   SESSION_*, ADMIN_*, ELASTICACHE_*, TRUSTED_*, TEST_REDIS_*) are read somewhere in the code or
//   listed in an `.env.example`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Problem {
  /** Repository-relative Markdown file, with the line. */
  readonly where: string;
  readonly message: string;
}

export interface Repository {
  readonly root: string;
  /** Repository-relative paths of every file git knows (tracked or not ignored). */
  readonly files: readonly string[];
  /** Workspace packages by name: their directory (relative) and scripts. */
  readonly packages: ReadonlyMap<string, { dir: string; scripts: ReadonlySet<string> }>;
  /** Every environment variable name the code reads or an `.env.example` lists. */
  readonly envNames: ReadonlySet<string>;
  /** Names of that shape the code declares as constants (`AI_PLANS`): not variables. */
  readonly constants: ReadonlySet<string>;
}

const ENV_PATTERN = /\b(?:REDIS|RATE_LIMIT|AI|SESSION|ADMIN|ELASTICACHE|TRUSTED|TEST_REDIS)_[A-Z0-9_]*[A-Z0-9]\b/g;
const CODE_FILE = /\.(?:ts|tsx|js|mjs|cjs|sh|ya?ml)$/;

/** Reads what the checks compare against from the repository at `root`. */
export function loadRepository(root: string): Repository {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && existsSync(path.join(root, f)));
  const packages = new Map<string, { dir: string; scripts: ReadonlySet<string> }>();
  for (const f of files.filter((f) => f === 'package.json' || /^(apps|packages|tooling)\/[^/]+\/package\.json$/.test(f))) {
    const json = JSON.parse(readFileSync(path.join(root, f), 'utf8')) as { name?: string; scripts?: Record<string, string> };
    if (json.name) packages.set(json.name, { dir: path.dirname(f), scripts: new Set(Object.keys(json.scripts ?? {})) });
  }
  const envNames = new Set<string>();
  const constants = new Set<string>();
  for (const f of files) {
    const base = path.basename(f);
    const isEnvExample = base === '.env.example' || base.endsWith('.env.example');
    // this checker's own sources name variables as examples
    if (f.startsWith('tooling/docs-check/') || (!isEnvExample && !CODE_FILE.test(f) && !f.startsWith('.ci/'))) continue;
    const text = readFileSync(path.join(root, f), 'utf8');
    for (const name of text.match(ENV_PATTERN) ?? []) {
      const escaped = name.replace(/[$]/g, '\\$&');
      const read = isEnvExample
        ? new RegExp(`^#?\\s*${escaped}=`, 'm')
        : new RegExp(`env(?:\\.${escaped}\\b|\\[['"\`]${escaped}['"\`]\\])|['"\`]${escaped}['"\`]|\\$\\{?${escaped}\\b`);
      if (read.test(text)) envNames.add(name);
      if (new RegExp(`\\b(?:const|let|var|function|class|enum|type|interface)\\s+${escaped}\\b`).test(text)) constants.add(name);
    }
  }
  return { root, files, packages, envNames, constants };
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text (duplicates get -1, -2... as on GitHub). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of outsideCode(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*$/.exec(line.text);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The lines outside fenced code blocks, with their numbers. */
function outsideCode(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const f = /^\s*(```+|~~~+)/.exec(text)?.[1];
    if (f && (!fence || f.startsWith(fence))) fence = fence ? undefined : f;
    else if (!fence) out.push({ text, line: i + 1 });
  });
  return out;
}

/** Code spans and fenced code lines: where commands and variable names are written. */
function codeText(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let inFence = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^\s*(```|~~~)/.test(text)) {
      inFence = !inFence;
      return;
    }
    if (inFence) out.push({ text, line: i + 1 });
    else for (const m of text.matchAll(/`([^`]+)`/g)) out.push({ text: m[1]!, line: i + 1 });
  });
  return out;
}

/** Whether git ignores a path: a file the reader makes (`.env.local`) or a build output (`cdk.out`). */
function ignored(root: string, file: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', '--no-index', file], { cwd: root });
    return true;
  } catch {
    return false;
  }
}

/** The nearest package.json's package for a repository-relative file. */
function packageOf(repo: Repository, file: string): string | undefined {
  let best: { name: string; depth: number } | undefined;
  for (const [name, p] of repo.packages) {
    if (p.dir === '.' || file.startsWith(`${p.dir}/`)) {
      const depth = p.dir === '.' ? 0 : p.dir.split('/').length;
      if (!best || depth > best.depth) best = { name, depth };
    }
  }
  return best?.name;
}

/** Every problem of one Markdown file (repository-relative path, its text). */
export function checkMarkdown(repo: Repository, file: string, markdown: string): Problem[] {
  const problems: Problem[] = [];
  const at = (line: number, message: string) => problems.push({ where: `${file}:${line}`, message });
  const dir = path.dirname(file);
  const fileSet = new Set(repo.files);
  const dirs = new Set(repo.files.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

  for (const { text, line } of outsideCode(markdown)) {
    const withoutSpans = text.replace(/`[^`]*`/g, '');
    for (const m of withoutSpans.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [rawPath, anchor] = target.split('#') as [string, string | undefined];
      const resolved = rawPath === '' ? file : path.posix.normalize(path.posix.join(dir, decodeURIComponent(rawPath)));
      if (resolved.startsWith('..') || path.posix.isAbsolute(resolved)) {
        at(line, `link ${target} points outside the repository`);
        continue;
      }
      const clean = resolved.replace(/\/$/, '');
      if (!fileSet.has(clean) && !dirs.has(clean) && clean !== '.') {
        at(line, `link ${target}: ${clean} does not exist`);
        continue;
      }
      if (anchor && clean.endsWith('.md') && fileSet.has(clean)) {
        const text = clean === file ? markdown : readFileSync(path.join(repo.root, clean), 'utf8');
        if (!anchors(text).has(anchor)) at(line, `link ${target}: ${clean} has no heading #${anchor}`);
      }
    }
  }

  const root = repo.packages.get([...repo.packages].find(([, p]) => p.dir === '.')?.[0] ?? '');
  const nearest = repo.packages.get(packageOf(repo, file) ?? '');
  for (const { text, line } of codeText(markdown)) {
    for (const m of text.matchAll(/\bpnpm\s+(?:-F|--filter)[ =](\S+)((?:\s+--?[\w-]+(?:=\S+)?)*)\s+(?:run\s+)?([\w:.-]+)/g)) {
      const [, name, , script] = m as unknown as [string, string, string, string];
      const pkg = repo.packages.get(name);
      if (!pkg) at(line, `pnpm --filter ${name}: no workspace package has that name`);
      else if (!['exec', 'add', 'remove', 'install', 'list', 'why', 'dlx', 'test:'].includes(script) && !pkg.scripts.has(script)) {
        at(line, `pnpm --filter ${name} ${script}: ${name} has no script '${script}'`);
      }
    }
    for (const m of text.matchAll(/(?:^|\s)--filter[ =](@[\w-]+\/[\w-]+|[\w-]+)/g)) {
      if (!repo.packages.has(m[1]!)) at(line, `--filter ${m[1]}: no workspace package has that name`);
    }
    for (const m of text.matchAll(/\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(test|start))\b/g)) {
      const script = m[1] ?? m[2]!;
      if (!root?.scripts.has(script) && !nearest?.scripts.has(script)) at(line, `npm run ${script}: neither the root package.json nor ${packageOf(repo, file)} has that script`);
    }
    // a repository path in code (`packages/ratelimit/src/redis.ts`) must exist too
    for (const m of text.matchAll(/(?:^|[\s(`'"])((?:apps|packages|tooling|docs|scripts)\/[\w.@/-]*[\w])(?=$|[\s):`'",])/g)) {
      const p = m[1]!;
      if (!/[*{}]/.test(p) && !fileSet.has(p) && !dirs.has(p) && !ignored(repo.root, p)) at(line, `path ${p} does not exist in the repository`);
    }
    for (const name of text.match(ENV_PATTERN) ?? []) {
      if (!repo.envNames.has(name) && !repo.constants.has(name)) at(line, `${name} is read nowhere in the code and listed in no .env.example`);
    }
  }
  return problems;
}

/** Every problem of every Markdown file git knows (outside node_modules). */
export function checkRepository(repo: Repository): Problem[] {
  return repo.files
    .filter((f) => f.endsWith('.md') && !f.includes('node_modules/') && statSync(path.join(repo.root, f)).isFile())
    .flatMap((f) => checkMarkdown(repo, f, readFileSync(path.join(repo.root, f), 'utf8')));
}
