import path from 'node:path';

import type { NextConfig } from 'next';

// the monorepo root, so tracing and Turbopack see the workspace packages
const root = path.resolve(process.cwd(), '../..');

const config: NextConfig = {
  // workspace packages ship TypeScript sources
  transpilePackages: ['@airl/ratelimit', '@airl/creators', '@airl/ops'],
  serverExternalPackages: ['ioredis', '@valkey/valkey-glide'],
  poweredByHeader: false,
  // forbidden(): a refused server action answers 403 instead of throwing (a 500)
  experimental: { authInterrupts: true },
  // `pnpm lint` lints; Next.js 16 no longer lints in `next build`, 15 would do it twice
  eslint: { ignoreDuringBuilds: true },
  outputFileTracingRoot: root,
  turbopack: { root },
};

export default config;
