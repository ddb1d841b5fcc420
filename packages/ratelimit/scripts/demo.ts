// A minute of a starter creator's traffic against the embedded default (memory store, legacy
// plans), on a simulated clock: the plan's limit is enforced, denied calls cost nothing, and
// capacity returns exactly when the oldest call leaves the hour.
import { createRateLimiter } from '../src/index';

let now = Date.UTC(2026, 0, 1, 9, 0, 0);
const limiter = createRateLimiter({ clock: () => now });
const clock = () => new Date(now).toISOString().slice(11, 19);

let allowed = 0;
for (let call = 1; call <= 55; call++) {
  const r = await limiter.check('creator-42', { plan: 'starter' });
  if (r.allowed) allowed++;
  if (call <= 2 || call >= 49) {
    const note = r.allowed ? `allowed, ${r.remaining} left` : `DENIED by '${r.deniedBy}', retry in ${Math.round(r.retryAfterMs / 60_000)} min`;
    process.stdout.write(`${clock()}  call ${String(call).padStart(2)}: ${note}\n`);
  } else if (call === 3) process.stdout.write('          ...\n');
  now += 60_000;
}
process.stdout.write(`\n${allowed} of 55 calls allowed on the starter plan (50 per sliding hour).\n`);
now = Date.UTC(2026, 0, 1, 10, 0, 0);
const back = await limiter.check('creator-42', { plan: 'starter' });
process.stdout.write(`${clock()}  the 09:00 call has left the hour: ${back.allowed ? 'allowed' : 'denied'}, ${back.remaining} left\n`);
const pro = await limiter.peek('creator-42', { plan: 'pro' });
process.stdout.write(`${clock()}  on the pro plan the same usage leaves ${pro.remaining} of ${pro.limit}\n`);
