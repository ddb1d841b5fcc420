// The limiter's own Node CPU per check, without Redis or a client library: the Redis store over a
// stub client that answers every check "allowed" on the next turn of the event loop (as a socket
// would). 100 calls in flight over 10,000 identifiers, every default on, as in the steady
// workload of run.ts. Steadier than a run against Redis on a busy machine (no I/O, no batch sizes
// that follow the load), so it shows what a change to the engine saves; the least of the rounds
// is the figure (a busy machine only ever adds).
//
//   pnpm build && pnpm exec tsx bench/engine-cpu.ts   (the built package, as users run it: see engine.ts)
//   ENGINE_CPU_ROWS=log,window,plan3   ENGINE_CPU_ROUNDS=7   ENGINE_CPU_CHECKS=100000   ENGINE_CPU_WARMUP=100000
//   ENGINE_CPU_IDS=10000   identifiers drawn from (1,000,000: most calls are an identifier's first)
//
// The stub reads the check wire format (src/lua/protocol.ts, check.lua's header): keys per check
// and the reply layout. If that changes, change `reply` here.
import { identifiers, prng } from './harness';
import { ANOMALY_OPTIONS, type BenchPlan, benchPlans, PLAN_TOKENS_PER_CALL } from './plans';
import type { RedisStoreClient } from '../src/redis';
import { createRateLimiter, createRedisStore } from './engine';

const ROWS = (process.env.ENGINE_CPU_ROWS ?? 'log,window,plan3').split(',').map((s) => s.trim()) as BenchPlan[];
const ROUNDS = Math.min(30, Number(process.env.ENGINE_CPU_ROUNDS ?? 7));
const CHECKS = Math.min(1_000_000, Number(process.env.ENGINE_CPU_CHECKS ?? 100_000));
/** Checks before measuring: enough that every identifier was seen (steady state: no first calls). */
const WARMUP = Math.min(1_000_000, Number(process.env.ENGINE_CPU_WARMUP ?? 100_000));
const IN_FLIGHT = 100;
const IDS = Math.min(10_000_000, Number(process.env.ENGINE_CPU_IDS ?? 10_000));
const SPEC = { limit: 1000, windowMs: 10_000 };


function stubClient(plan: BenchPlan): RedisStoreClient {
  const limits = benchPlans(SPEC)[plan].limits.length;
  const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(resolve, value));
  const rules = plan === 'plan3';
  // a plan of one limit without anomaly rules answers without a status (see check.lua)
  const bare = limits === 1 && !rules;
  // every check allowed: per group its time when it asked for the server's, then per check
  const reply = (args: readonly (string | number)[]) => {
    const now = Date.now();
    const single = String(args[1]).endsWith('_check');
    const argv = args.slice(3 + Number(args[2]));
    const out: number[] = [];
    for (let a = 0; a < argv.length; ) {
      const count = single ? 1 : Number(argv[a++]);
      const time = argv[a];
      // time, mode (not sent to `check`), plan, [anomaly arguments], costs
      a += (single ? 2 : 3) + (rules ? 2 : 0) + limits;
      if (time === '') out.push(now);
      for (let c = 0; c < count; c++) {
        if (!bare) out.push(1);
        for (let l = 0; l < limits; l++) out.push(500, now + 10);
      }
    }
    return out;
  };
  return {
    library: 'stub',
    cluster: false,
    send(_key, args) {
      if (args[0] === 'FCALL') return later(reply(args));
      if (args[0] === 'TIME') return later([String(Math.floor(Date.now() / 1000)), '0']);
      if (args[0] === 'HGETALL') return later([]);
      return later('OK');
    },
    pipeline: (_key, commands) => later(commands.map(() => 1)),
    evalScript: () => Promise.reject(new Error('stub: no EVALSHA')),
    everyMaster: (args) => later([args.map(() => 'OK')]),
    subscribe: () => ({ subscribed: Promise.resolve(), close: () => Promise.resolve() }),
    masterOf: () => undefined,
    masters: () => [],
    connected: () => true,
    quit: () => Promise.resolve(),
  };
}

async function round(plan: BenchPlan): Promise<number> {
  const limiter = createRateLimiter({
    plans: benchPlans(SPEC),
    // a long timeout: under valgrind (see below) the first calls are slow; the work per check is the same
    store: createRedisStore({ client: stubClient(plan), prefix: 'engine-cpu', timeout: '1 m' }),
    ...(plan === 'plan3' && ANOMALY_OPTIONS),
  });
  const options = plan === 'plan3' ? { plan, cost: PLAN_TOKENS_PER_CALL } : { plan };
  const ids = identifiers(IDS);
  const random = prng(42);
  let left = WARMUP;
  const worker = async () => {
    while (left-- > 0) {
      const result = await limiter.check(ids[Math.floor(random() * ids.length)]!, options);
      if (!result.allowed) throw new Error('stub: a check was denied');
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  left = CHECKS;
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await limiter.close();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / CHECKS;
}

const results = new Map<BenchPlan, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const plan of ROWS) {
    const us = await round(plan);
    results.set(plan, [...(results.get(plan) ?? []), us]);
  }
}
process.stdout.write('plan     Node CPU µs/check: least (all rounds)\n');
for (const plan of ROWS) {
  const all = results.get(plan)!;
  process.stdout.write(`${plan.padEnd(8)} ${Math.min(...all).toFixed(2)}  (${all.map((v) => v.toFixed(2)).join(' ')})\n`);
}
