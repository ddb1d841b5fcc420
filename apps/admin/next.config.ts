import path from 'node:path';

import type { NextConfig } from 'next';

// the monorepo root, so tracing and Turbopack see the workspace packages
const root = path.resolve(process.cwd(), '../..');

const config: NextConfig = {
  // workspace packages ship TypeScript sources
  transpilePackages: ['@airl/ratelimit', '@airl/creators', '@airl/ops'],
  // native (argon2) and socket-holding (ioredis) modules stay plain Node requires
  serverExternalPackages: ['ioredis', '@node-rs/argon2', '@valkey/valkey-glide'],
  poweredByHeader: false,
  // forbidden(): a refused server action answers 403 instead of throwing (a 500)
  experimental: { authInterrupts: true },
  // `pnpm lint` lints; Next.js 16 no longer lints in `next build`, 15 would do it twice
  eslint: { ignoreDuringBuilds: true },
  outputFileTracingRoot: root,
  turbopack: { root },
  headers() {
    // an admin app is never framed, cached by shared caches or sent as a referrer
    return Promise.resolve([
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Content-Security-Policy', value: "frame-ancestors 'none'" },
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
        ],
      },
    ]);
  },
};

export default config;
