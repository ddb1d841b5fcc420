// Where the two apps live, for the browser tests that start both (see @airl/vitest-config/next-app).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export { type RunningApp, startNextApp } from '@airl/vitest-config/next-app';

export const ADMIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIR = path.resolve(ADMIN_DIR, '../web');
