// At start: validates the configuration, finds out whether Redis runs in cluster mode (one
// short-lived connection: ElastiCache Serverless always does) and says where rate limits are kept.
// A bad configuration stops the server with every mistake listed. On shutdown: the limiter writes
// its pending top-consumer counts and closes its connections, best effort.
import { startApp, storageNotice } from './server/app';
import { ConfigError } from './server/config';

export async function start(): Promise<void> {
  try {
    const app = await startApp();
    process.stdout.write(`${storageNotice(app)}\nAI provider: ${app.provider.kind} (${app.provider.model})\n`);
    if (app.config.sessionSecretNote) console.warn(app.config.sessionSecretNote);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.limiters.close().catch(() => undefined));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
