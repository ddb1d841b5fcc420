// At start: validates the configuration and says where the data is. A bad configuration stops the
// server with every mistake listed. Nothing connects to Redis here.
import { getApp, storageNotice } from './server/app';
import { ConfigError } from './server/config';

try {
  const app = getApp();
  process.stdout.write(`${storageNotice(app)}\nAdmin accounts: ${[...app.config.accounts.keys()].join(', ')}\n`);
  for (const note of app.config.notes) console.warn(note);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
