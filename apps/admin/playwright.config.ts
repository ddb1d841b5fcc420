import { appBrowserTests } from '@airl/vitest-config/playwright';

export default appBrowserTests({ timeout: 240_000 });
