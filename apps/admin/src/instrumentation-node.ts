// At start: validates the configuration, finds out whether Redis runs in cluster mode (one
// short-lived connection: ElastiCache Serverless always does) and says where the data is. A bad
// configuration stops the server with every mistake listed.
import { startApp, storageNotice } from './server/app';
import { ConfigError } from './server/config';

export async function start(): Promise<void> {
  try {
    const app = await startApp();
    process.stdout.write(`${storageNotice(app)}\nAdmin accounts: ${[...app.config.accounts.keys()].join(', ')}\n`);
    for (const note of app.config.notes) console.warn(note);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
