// The apps' browser tests: Debian's Chromium (never `playwright install`: no browser downloads
// here), headless, quiet; one worker and generous timeouts, to hold on a loaded 2-core machine.
import { defineConfig, type PlaywrightTestConfig } from '@playwright/test';

/** The Playwright configuration of an app's `e2e/` folder (with its `e2e/global-setup.ts`). */
export function appBrowserTests(o: { timeout: number }): PlaywrightTestConfig {
  return defineConfig({
    testDir: 'e2e',
    globalSetup: './e2e/global-setup.ts',
    workers: 1,
    retries: 0,
    timeout: o.timeout,
    expect: { timeout: 30_000 },
    reporter: [['list']],
    use: {
      browserName: 'chromium',
      actionTimeout: 30_000,
      navigationTimeout: 60_000,
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      },
    },
  });
}
