// At start: validates the configuration and says where rate limits are kept. A bad configuration
// stops the server with every mistake listed. Nothing connects to Redis here.
import { getApp, storageNotice } from './server/app';
import { ConfigError } from './server/config';

try {
  const app = getApp();
  process.stdout.write(`${storageNotice(app)}\nAI provider: ${app.provider.kind} (${app.provider.model})\n`);
  if (app.config.sessionSecretNote) console.warn(app.config.sessionSecretNote);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
