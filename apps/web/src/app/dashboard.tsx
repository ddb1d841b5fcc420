'use client';
// What a creator sees: each limit's used / remaining with a live countdown to its next refill, the
// monthly AI budget, and the four AI features. A denial shows its message and a live retry time.
import type { inferRouterOutputs } from '@trpc/server';
import { useCallback, useEffect, useState } from 'react';

import { isClientError, trpc } from '~/lib/trpc';
import type { AppRouter } from '~/server/trpc/router';

type Quota = inferRouterOutputs<AppRouter>['ai']['quota'];
type Answer = inferRouterOutputs<AppRouter>['ai']['caption'];

/** `1:05:09`, `4:02`, `0:07`. */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

const LABELS: Record<string, string> = { burst: 'Requests per minute', hourly: 'Requests per hour', tokens: 'Tokens per day' };

interface Denial {
  message: string;
  /** Client-clock time at which the call would fit; undefined when waiting does not help before the budget renews. */
  until: number | undefined;
  quota: boolean;
}

const FEATURES = [
  { key: 'fanReply', title: 'Fan message reply', field: 'fanMessage', placeholder: 'Paste a fan message…', sample: 'Loved your last video, when is the next one?' },
  { key: 'caption', title: 'Caption', field: 'description', placeholder: 'Describe the post…', sample: 'Sunset shoot on the beach with the new collection' },
  { key: 'performanceAnalysis', title: 'Performance analysis', field: 'metrics', placeholder: 'Followers, likes, posts…', sample: 'Followers 12,400 (+3%), likes 48k, 22 posts, revenue $3,100' },
  { key: 'salesOptimization', title: 'Sales optimisation', field: 'catalog', placeholder: 'Products, prices, sales…', sample: 'Photo set $9 (120 sold), video pack $25 (40 sold), 1:1 chat $50 (8 sold)' },
] as const;

function FeatureCard({ feature, onDone }: { feature: (typeof FEATURES)[number]; onDone: () => void }) {
  const [text, setText] = useState<string>(feature.sample);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [denial, setDenial] = useState<Denial | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const now = useNow();
  const waiting = denial?.until !== undefined && denial.until > now;

  async function run() {
    setBusy(true);
    setFailure(undefined);
    try {
      const input = { [feature.field]: text } as never;
      const result = await trpc.ai[feature.key].mutate(input);
      setAnswer(result);
      setDenial(undefined);
    } catch (error) {
      const limit = isClientError(error) ? error.data?.rateLimit : null;
      if (limit && isClientError(error)) {
        setDenial({ message: error.message, until: limit.retryable ? Date.now() + limit.retryAfterMs : undefined, quota: limit.reason === 'QUOTA_EXCEEDED' });
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
      <textarea aria-label={feature.title} placeholder={feature.placeholder} value={text} onChange={(e) => setText(e.target.value)} />
      <p>
        <button type="button" onClick={() => void run()} disabled={busy || !text.trim()} data-testid={`run-${feature.key}`}>
          {busy ? 'Working…' : 'Generate'}
        </button>
      </p>
      {answer && (
        <div className="ok" data-testid="answer">
          {answer.text}
          <div className="muted">
            {answer.usage.totalTokens} tokens · {answer.costCents}¢ charged{answer.usageEstimated ? ' (estimated: the provider reported no valid usage)' : ''} · {answer.model}
          </div>
        </div>
      )}
      {denial && (
        <div className="alert" role="alert" data-testid="denied">
          <div data-testid="denied-message">{denial.message}</div>
          {denial.until !== undefined &&
            (waiting ? (
              <div>
                Try again in <strong data-testid="retry-countdown">{formatCountdown(denial.until - now)}</strong>
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

export function Dashboard() {
  const [quota, setQuota] = useState<{ data: Quota; receivedAt: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
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

  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 10_000);
    return () => clearInterval(timer);
  }, [refresh]);

  // a limit's reset moment on this browser's clock (the server's `now` is Redis time)
  const localTime = (at: number) => (quota ? quota.receivedAt + (at - quota.data.now) : at);

  return (
    <>
      <div className="grid" style={{ marginBottom: 16 }}>
        <section className="card" data-testid="limits">
          <h2>
            Your limits <span className="muted">({quota?.data.plan ?? '…'} plan)</span>
          </h2>
          {error && <p className="alert">{error}</p>}
          {quota?.data.degraded && (
            <p className="notice" data-testid="quota-degraded">
              Usage service unreachable: this server applies your limits on its own for now, so these figures may lag.
            </p>
          )}
          {quota?.data.limits.map((l) => {
            const refill = localTime(l.resetAt) - now;
            return (
              <div className="limit" key={l.name} data-testid={`limit-${l.name}`}>
                <div className="row">
                  <strong>{LABELS[l.name] ?? l.name}</strong>
                  <span>
                    <span data-testid="used">{l.used}</span> used · <span data-testid="remaining">{l.remaining}</span> of {l.limit} left
                  </span>
                </div>
                <div className="bar">
                  <span style={{ width: `${Math.min(100, (l.used / l.limit) * 100)}%` }} />
                </div>
                <div className="muted" data-testid="reset">
                  {l.used === 0 ? 'Full' : refill > 0 ? `Next ${l.unit === 'tokens' ? 'tokens come' : 'request comes'} back in ${formatCountdown(refill)}` : 'Refilling…'}
                </div>
              </div>
            );
          })}
        </section>
        <section className="card" data-testid="budget">
          <h2>Monthly AI budget</h2>
          {quota &&
            (quota.data.spend.unlimited ? (
              <p>
                Unlimited · ${quota.data.spend.spent.toFixed(2)} spent this month
              </p>
            ) : (
              <>
                <div className="row">
                  ${quota.data.spend.spent.toFixed(2)} of ${quota.data.spend.limit?.toFixed(2)} used ({quota.data.spend.percentUsed}%)
                </div>
                <div className="bar">
                  <span style={{ width: `${Math.min(100, quota.data.spend.percentUsed)}%` }} />
                </div>
                {quota.data.spend.warning && (
                  <p className={quota.data.spend.warning === 'critical' ? 'alert' : 'notice'} data-testid="budget-warning">
                    {quota.data.spend.warning === 'critical' ? 'Over 95% of your monthly AI budget is used.' : 'Over 80% of your monthly AI budget is used.'}
                  </p>
                )}
              </>
            ))}
          {quota && <p className="muted">Renews on {new Date(quota.data.spend.renewsAt).toLocaleDateString('en-US', { month: 'long', day: 'numeric', timeZone: 'UTC' })}</p>}
          <p>
            <button type="button" className="link" onClick={refresh} data-testid="refresh">
              Refresh
            </button>
          </p>
        </section>
      </div>
      <div className="grid">
        {FEATURES.map((f) => (
          <FeatureCard key={f.key} feature={f} onDone={refresh} />
        ))}
      </div>
    </>
  );
}
