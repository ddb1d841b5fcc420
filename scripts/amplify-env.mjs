#!/usr/bin/env node
// Amplify build step: Next.js server code on Amplify Hosting sees only the variables written to
// the app's `.env.production` during the build (AWS: "Making environment variables accessible to
// server-side runtimes"). This writes every variable documented in `<appRoot>/.env.example` that
// is set in the build's environment, and prints names only, never a value.
//   node scripts/amplify-env.mjs apps/web
// Then it reads the file back the way Next.js will (with @next/env, in a process that has none of
// the variables) and fails the build if any value would arrive changed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const appRoot = process.argv[2];
if (!appRoot || !fs.existsSync(path.join(appRoot, 'package.json'))) {
  console.error('usage: node scripts/amplify-env.mjs <app root with a package.json and .env.example>, e.g. apps/web');
  process.exit(2);
}
const example = path.join(appRoot, '.env.example');
if (!fs.existsSync(example)) {
  console.error(`${example} is missing: it lists the variables to pass to the server`);
  process.exit(2);
}

// `NAME=` at the start of a line, commented out or not
const documented = [...new Set([...fs.readFileSync(example, 'utf8').matchAll(/^#?[ \t]*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]))];
const names = documented.filter((name) => process.env[name]);

// double quotes: Next.js (dotenv) turns \n into a new line there; \$ keeps a $ from expanding
const quote = (value) => `"${value.replaceAll('$', '\\$').replaceAll('\r', '\\r').replaceAll('\n', '\\n')}"`;
const file = path.join(appRoot, '.env.production');
fs.writeFileSync(file, names.map((name) => `${name}=${quote(process.env[name])}\n`).join(''), { mode: 0o600 });

// read it back in a child without the variables: what `next start` on Amplify will see
const reader = `
  import { createRequire } from 'node:module';
  const app = createRequire(process.cwd() + '/package.json');
  const { loadEnvConfig } = createRequire(app.resolve('next/package.json'))('@next/env');
  const { parsedEnv } = loadEnvConfig(process.cwd(), false, { info() {}, error() {} }, true);
  process.stdout.write(JSON.stringify(parsedEnv ?? {}));`;
const child = spawnSync(process.execPath, ['--input-type=module', '-e', reader], {
  cwd: appRoot,
  env: { PATH: process.env.PATH ?? '' },
  encoding: 'utf8',
});
if (child.status !== 0) {
  console.error(`could not read ${file} back with @next/env (exit ${child.status}); is the app installed?`);
  process.exit(1);
}
const parsed = JSON.parse(child.stdout);
const changed = names.filter((name) => parsed[name] !== process.env[name]);
if (changed.length > 0) {
  fs.rmSync(file);
  console.error(`${changed.join(', ')}: a value Next.js would read back changed (a " or \\ in it?); set it without those characters. ${file} not written.`);
  process.exit(1);
}
console.log(`${file}: ${names.length} of ${documented.length} documented variables set${names.length ? ` (${names.join(', ')})` : ''}`);
