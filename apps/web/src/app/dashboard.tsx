'use client';
// What a creator sees: who they are and the plan in force, each limit (how much is available now,
// and when it comes back), the monthly AI budget, a block when an admin set one, and the four AI
// features. The page asks the server where the creator stands every few seconds while it is
// visible, so an admin's reset, block or override shows without a click. A denial shows one live
// wait, the same one the limit it hit shows, and Generate stays off until that wait ends.
import type { inferRouterOutputs } from '@trpc/server';
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { formatCount, formatCountdown, pollWhileVisible } from '@airl/creators';

import { MAX_INPUT_CHARS } from '~/lib/input-limits';
import { isPlatformLimit, platformLimitText } from '~/lib/platform-limit';
import { isClientError, trpc } from '~/lib/trpc';
import type { AppRouter } from '~/server/trpc/router';

type Quota = inferRouterOutputs<AppRouter>['ai']['quota'];
type Answer = inferRouterOutputs<AppRouter>['ai']['caption'];

/** How often an open, visible page asks where the creator stands (an admin's action shows within this). */
export const QUOTA_POLL_MS = 3000;

/** `Dec 3, 00:00 UTC`: times in UTC, as the admin app writes them. */
export function formatMoment(at: number): string {
  return `${new Date(at).toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' })} UTC`;
}

const LABELS: Record<string, string> = { burst: 'Requests per minute', hourly: 'Requests per hour', tokens: 'Tokens per day' };
const WHAT: Record<string, string> = { burst: 'per-minute limit', hourly: 'hourly limit', tokens: 'daily token limit' };

/** One clock for the whole page, so every countdown on it shows the same second. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  return now;
}

interface Denial {
  /** The feature whose call was denied: its card shows the message. */
  feature: string;
  message: string;
  /** The limit (or `blocked`) that denied. */
  deniedBy: string;
  /** Its units left when it denied: the denial is over once the page sees more. */
  remaining: number;
  /** Store-clock time at which the call fits; undefined when waiting does not help before the budget renews. */
  until: number | undefined;
}

const FEATURES = [
  { key: 'fanReply', feature: 'fan-reply', title: 'Fan message reply', field: 'fanMessage', placeholder: 'Paste a fan message…', sample: 'Loved your last video, when is the next one?' },
  { key: 'caption', feature: 'caption', title: 'Caption', field: 'description', placeholder: 'Describe the post…', sample: 'Sunset shoot on the beach with the new collection' },
  { key: 'performanceAnalysis', feature: 'performance-analysis', title: 'Performance analysis', field: 'metrics', placeholder: 'Followers, likes, posts…', sample: 'Followers 12,400 (+3%), likes 48k, 22 posts, revenue $3,100' },
  { key: 'salesOptimization', feature: 'sales-optimization', title: 'Sales optimisation', field: 'catalog', placeholder: 'Products, prices, sales…', sample: 'Photo set $9 (120 sold), video pack $25 (40 sold), 1:1 chat $50 (8 sold)' },
] as const;

/** Converts a store-clock time to this browser's clock, from the last quota answer. */
type ToLocal = (at: number) => number;

interface CardProps {
  feature: (typeof FEATURES)[number];
  blocked: boolean;
  /** The creator's current denial (every feature shares the limits), shown on the card that met it. */
  denial: Denial | undefined;
  onDenied: (denial: Denial | undefined) => void;
  now: number;
  toLocal: ToLocal;
  onDone: () => void;
}

function FeatureCard({ feature, blocked, denial: shared, onDenied, now, toLocal, onDone }: CardProps) {
  const max = MAX_INPUT_CHARS[feature.feature];
  const [text, setText] = useState<string>(feature.sample);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const denial = shared?.feature === feature.key ? shared : undefined;
  const waitUntil = shared?.until !== undefined ? toLocal(shared.until) : undefined;
  // every feature waits: they share the creator's limits
  const waiting = shared !== undefined && (waitUntil === undefined || waitUntil > now);

  async function run() {
    setBusy(true);
    setFailure(undefined);
    try {
      const input = { [feature.field]: text } as never;
      const result = await trpc.ai[feature.key].mutate(input);
      setAnswer(result);
      onDenied(undefined);
    } catch (error) {
      const limit = isClientError(error) ? error.data?.rateLimit : null;
      if (limit) {
        const denied = limit.limits.find((l) => l.name === limit.deniedBy);
        onDenied({ feature: feature.key, message: denialText(limit), deniedBy: limit.deniedBy, remaining: denied?.remaining ?? 0, until: limit.retryable ? limit.resetAt : undefined });
        setAnswer(undefined);
      } else {
        setFailure(error instanceof Error ? error.message : String(error));
      }
    } finally {
      setBusy(false);
      onDone();
    }
  }

  return (
    <section className="card" data-testid={`feature-${feature.key}`}>
      <h2>{feature.title}</h2>
      <textarea aria-label={feature.title} placeholder={feature.placeholder} value={text} maxLength={max} onChange={(e) => setText(e.target.value)} />
      <div className="muted counter" data-testid="counter">
        {formatCount(text.length)} / {formatCount(max)} characters
      </div>
      <p>
        <button type="button" onClick={() => void run()} disabled={busy || !text.trim() || waiting || blocked} data-testid={`run-${feature.key}`}>
          {busy ? 'Working…' : 'Generate'}
        </button>
      </p>
      {answer && (
        <div className="ok" data-testid="answer">
          {answer.text}
          <div className="muted">
            {formatCount(answer.usage.totalTokens)} tokens · {answer.costCents}¢ charged{answer.usageEstimated ? ' (estimated: the provider reported no valid usage)' : ''} · {answer.model}
          </div>
        </div>
      )}
      {denial && (
        <div className="alert" role="alert" data-testid="denied">
          <div data-testid="denied-message">{denial.message}</div>
          {waitUntil !== undefined &&
            (waitUntil > now ? (
              <div>
                Try again in <strong data-testid="retry-countdown">{formatCountdown(waitUntil - now)}</strong>
              </div>
            ) : (
              <div>You can try again now.</div>
            ))}
        </div>
      )}
      {failure && (
        <div className="alert" role="alert" data-testid="failure">
          {failure}
        </div>
      )}
    </section>
  );
}

/** The denial in words, without a wait: the page shows the wait once, as a live countdown. */
function denialText(limit: { reason: string; deniedBy: string; limit: number; unit: string; sharedBudget?: string }): string {
  if (limit.reason === 'BLOCKED' || limit.deniedBy === 'blocked') return 'Your account is blocked: AI features are paused.';
  if (isPlatformLimit(limit)) return platformLimitText(limit);
  if (limit.reason === 'QUOTA_EXCEEDED') return `Your monthly AI budget of $${(limit.limit / 100).toFixed(2)} is used up.`;
  if (limit.deniedBy === 'tokens') return `You have reached your daily token limit of ${formatCount(limit.limit)}.`;
  return `You have reached your ${WHAT[limit.deniedBy] ?? limit.deniedBy} of ${formatCount(limit.limit)} AI requests.`;
}

type LimitRow = Quota['limits'][number];

/** One line a creator can act on: nothing used, when the next one comes back, or when all are back. */
function limitStatus(l: LimitRow, blocked: boolean, now: number, toLocal: ToLocal): string {
  if (blocked) return 'Paused while your account is blocked.';
  if (l.used === 0) return `Unused: all ${formatCount(l.limit)} available.`;
  // a sliding-window counter: its next unit moves with every call, the moment all are back does not
  if (l.fullBy !== null) return `All ${formatCount(l.limit)} back by ${formatMoment(l.fullBy)}.`;
  const wait = toLocal(l.resetAt) - now;
  if (wait <= 0) return 'Coming back now…';
  return `${l.remaining === 0 ? 'Next one' : 'One more'} back in ${formatCountdown(wait)}.`;
}

/** `children`: the server's notices, shown under the header. */
export function Dashboard({ signOut, children }: { signOut: () => Promise<void>; children?: ReactNode }) {
  const [quota, setQuota] = useState<{ data: Quota; receivedAt: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [denial, setDenial] = useState<Denial | undefined>();
  const now = useNow();

  const refresh = useCallback(() => {
    trpc.ai.quota
      .query()
      .then((data) => {
        setQuota({ data, receivedAt: Date.now() });
        setError(undefined);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  // short polling of the quota while the page is visible: works on every store and behind any
  // proxy, and also picks up what no announcement carries (a plan changed in the directory)
  useEffect(() => {
    refresh();
    return pollWhileVisible(document, refresh, QUOTA_POLL_MS);
  }, [refresh]);

  // the denial is over when the page sees the limit give more than it had (a reset, a new plan)
  // or the block lifted
  useEffect(() => {
    const q = quota?.data;
    if (!denial || !q) return;
    const row = q.limits.find((l) => l.name === denial.deniedBy);
    const left = denial.deniedBy === 'monthly-spend' ? (q.spend.remaining === null ? Infinity : Math.round(q.spend.remaining * 100)) : (row?.remaining ?? 0);
    const over = denial.deniedBy === 'blocked' ? q.block === null : q.block === null && left > denial.remaining;
    if (over) setDenial(undefined);
  }, [quota, denial]);

  // a store-clock moment on this browser's clock (the server's `now` is Redis time)
  const toLocal: ToLocal = (at) => (quota ? quota.receivedAt + (at - quota.data.now) : at);
  const q = quota?.data;
  const block = q?.block ?? null;

  return (
    <>
      <header className="top">
        <h1>
          Creator AI · {q?.creator.name ?? '…'}{' '}
          <span className="badge" data-testid="plan">
            {q?.plan ?? '…'}
          </span>
        </h1>
        <form action={signOut}>
          <span className="muted" data-testid="creator-id">
            {q?.creator.id}
          </span>{' '}
          <button className="link" type="submit">
            Sign out
          </button>
        </form>
      </header>
      {children}
      {q && q.plan !== q.basePlan && (
        <p className="muted" data-testid="plan-override">
          An admin put you on the {q.plan} plan for now (your plan: {q.basePlan}).
        </p>
      )}
      {block && (
        <p className="alert" role="alert" data-testid="blocked">
          Your account is blocked until {formatMoment(block.until)} ({block.reason ?? 'no reason given'}). AI features are paused until then; your usage below is unchanged.
        </p>
      )}
      <div className="grid" style={{ marginBottom: 16 }}>
        <section className="card" data-testid="limits">
          <h2>
            Your limits <span className="muted">({q?.plan ?? '…'} plan)</span>
          </h2>
          {error && <p className="alert">{error}</p>}
          {q?.degraded && (
            <p className="notice" data-testid="quota-degraded">
              Usage service unreachable: this server applies your limits on its own for now, so these figures may lag.
            </p>
          )}
          {q?.limits.map((l) => (
            <div className="limit" key={l.name} data-testid={`limit-${l.name}`}>
              <div className="row">
                <strong>{LABELS[l.name] ?? l.name}</strong>
                <span>
                  <span data-testid="remaining">{formatCount(l.remaining)}</span> of {formatCount(l.limit)} {block ? 'unused' : 'available now'} · <span data-testid="used">{formatCount(l.used)}</span> used
                </span>
              </div>
              <div className="bar">
                <span style={{ width: `${Math.min(100, (l.used / l.limit) * 100)}%` }} />
              </div>
              <div className="muted" data-testid="reset">
                {limitStatus(l, block !== null, now, toLocal)}
              </div>
            </div>
          ))}
        </section>
        <section className="card" data-testid="budget">
          <h2>Monthly AI budget</h2>
          {q &&
            (q.spend.unlimited ? (
              <p data-testid="spent">Unlimited · ${q.spend.spent.toFixed(2)} spent this month</p>
            ) : (
              <>
                <div className="row" data-testid="spent">
                  ${q.spend.spent.toFixed(2)} of ${q.spend.limit?.toFixed(2)} used ({q.spend.percentUsed}%)
                </div>
                <div className="bar">
                  <span style={{ width: `${Math.min(100, q.spend.percentUsed)}%` }} />
                </div>
                {q.spend.warning && (
                  <p className={q.spend.warning === 'critical' ? 'alert' : 'notice'} data-testid="budget-warning">
                    {q.spend.warning === 'critical' ? 'Over 95% of your monthly AI budget is used.' : 'Over 80% of your monthly AI budget is used.'}
                  </p>
                )}
              </>
            ))}
          {q && <p className="muted">Renews on {new Date(q.spend.renewsAt).toLocaleDateString('en-US', { month: 'long', day: 'numeric', timeZone: 'UTC' })}</p>}
          <p>
            <button type="button" className="link" onClick={refresh} data-testid="refresh">
              Refresh
            </button>
          </p>
        </section>
      </div>
      <div className="grid">
        {FEATURES.map((f) => (
          <FeatureCard key={f.key} feature={f} blocked={block !== null} denial={denial} onDenied={setDenial} now={now} toLocal={toLocal} onDone={refresh} />
        ))}
      </div>
    </>
  );
}
