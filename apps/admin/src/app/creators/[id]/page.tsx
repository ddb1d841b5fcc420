// One creator, as an admin needs it when told "the AI says I'm rate limited": the plan and where
// it comes from, every limit, the monthly budget against its quota, recent denials, outstanding
// reservations, the actions (reset, override, block, lift) and the recent admin actions.
import { formatCount, formatCountdown, fullBy, isPlan, PLANS, SPEND_LIMIT } from '@airl/creators';
import type { Anomaly } from '@airl/ratelimit';
import Link from 'next/link';

import { formatAmount, formatTime, formatUsd, relative } from '~/lib/format';
import { creatorHref, decodeSegment } from '~/lib/links';
import { DURATIONS } from '~/server/admin-actions';
import { getApp } from '~/server/app';
import { creatorView, resettableLimits } from '~/server/creator-view';
import { requireAdmin } from '~/server/guard';

import { ActionForm } from '../../action-form';
import { blockCreator, liftControls, overridePlan, resetLimits } from '../../actions';
import { AuditTable } from '../../audit/audit-table';
import { Shell } from '../../shell';
import { load, Unavailable } from '../../unavailable';

export const dynamic = 'force-dynamic';

const ANOMALY_RULES: Record<Anomaly['rule'], string> = { burst: 'Burst of calls', 'denial-storm': 'Denial storm', 'cost-spike': 'Cost spike' };

const LIMIT_TITLES: Record<string, string> = { burst: 'Requests per minute', hourly: 'Requests per hour', tokens: 'Tokens per day' };

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <label>
        {label}
        <br />
        {children}
      </label>
    </div>
  );
}

/** A labelled select; an option is its value, or [value, text]. */
function Choice({ label, name, ariaLabel, defaultValue, options }: { label: string; name: string; ariaLabel: string; defaultValue: string; options: readonly (string | readonly [string, string])[] }) {
  return (
    <Field label={label}>
      <select name={name} defaultValue={defaultValue} aria-label={ariaLabel}>
        {options.map((o) => {
          const [value, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </Field>
  );
}

function Reason() {
  return (
    <Field label="Reason (for the audit log)">
      <input type="text" name="reason" maxLength={500} placeholder="e.g. ticket 4242" />
    </Field>
  );
}

export default async function CreatorPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ plan?: string | string[] }> }) {
  const id = decodeSegment((await params).id);
  const admin = await requireAdmin(creatorHref(id));
  const { plan: planParam } = await searchParams;
  const asked = Array.isArray(planParam) ? planParam[0] : planParam;
  const app = getApp();
  const { data: view, error } = await load(() => creatorView(app, id, isPlan(asked) ? { plan: asked } : {}));
  if (!view) {
    return (
      <Shell admin={admin} search={id}>
        <h1>{id}</h1>
        <Unavailable error={error} />
      </Shell>
    );
  }
  const untouched = view.limits.every((l) => l.used === 0) && view.spend.spentCents === 0 && view.denials.length === 0 && view.reservations.length === 0;
  if (!view.known && untouched && !view.override && !view.block && view.audit.length === 0) {
    // a typo or a name typed as an id: say so rather than show an empty creator
    return (
      <Shell admin={admin} search={id}>
        <h1>Find a creator</h1>
        <p className="notice" data-testid="no-match">
          Nobody matches &ldquo;{view.id}&rdquo;: no creator has this id, and the limiter has no usage, override or block under it. Search by id or name in the box above.
        </p>
      </Shell>
    );
  }
  const hidden = <input type="hidden" name="creatorId" value={view.id} />;
  const compiled = app.limiters.limiter.plans.get(view.plan)?.limits ?? [];
  // the web app's words and rounding: unused, the wait as a clock, or when a daily counter is all back
  const capacity = (l: (typeof view.limits)[number]) => {
    if (l.used === 0) return `unused: all ${formatCount(l.limit)} available`;
    const config = compiled.find((c) => c.name === l.name);
    const all = config ? fullBy(config, l.used, view.now) : null;
    if (all !== null) return `all back by ${formatTime(all)}`;
    return l.resetAt > view.now ? `next in ${formatCountdown(l.resetAt - view.now)}` : 'now';
  };
  const { spend } = view;
  return (
    <Shell admin={admin} search={id}>
      <h1 data-testid="creator-title">
        {view.name ?? view.id} <span className="muted">{view.id}</span>{' '}
        <span className="badge" data-testid="title-plan">
          {view.plan}
        </span>
      </h1>
      {!view.known && (
        <p className="notice" data-testid="unknown-creator">
          {view.id} is not in the creator directory: usage is shown under the {view.basePlan} plan. Show it under{' '}
          {PLANS.filter((p) => p !== view.basePlan).map((p, i) => (
            <span key={p}>
              {i > 0 && ' or '}
              <Link href={`${creatorHref(view.id)}?plan=${p}`}>{p}</Link>
            </span>
          ))}
          .
        </p>
      )}
      <section className="card" data-testid="plan">
        <p>
          Plan in force: <span className="badge" data-testid="plan-name">{view.plan}</span>{' '}
          <span data-testid="plan-source">{view.planSource === 'override' ? 'override' : 'default'}</span>
          {view.planSource === 'override' ? (
            <span className="muted">
              {' '}
              (instead of {view.basePlan}
              {view.override && `, until ${formatTime(view.override.until)}, ${relative(view.override.until, view.now)}`}
              {view.override?.by && `, set by ${view.override.by}`}
              {view.override?.reason && `: ${view.override.reason}`})
            </span>
          ) : (
            <span className="muted"> (the creator&apos;s {view.known ? 'subscription' : 'assumed'} plan)</span>
          )}
        </p>
        {view.block ? (
          <p className="alert" data-testid="blocked">
            Blocked until {formatTime(view.block.until)} ({relative(view.block.until, view.now)}){view.block.by && ` by ${view.block.by}`}
            {view.block.reason && `: ${view.block.reason}`}. Every AI call is denied.
          </p>
        ) : (
          <p className="muted" data-testid="not-blocked">
            Not blocked.
          </p>
        )}
      </section>

      <div className="grid">
        <section className="card" data-testid="limits">
          <h2>Limits</h2>
          <table>
            <thead>
              <tr>
                <th>Limit</th>
                <th className="num">Used</th>
                <th className="num">Remaining</th>
                <th className="num">Of</th>
                <th>Capacity back</th>
              </tr>
            </thead>
            <tbody>
              {view.limits.map((l) => (
                <tr key={l.name} data-testid={`limit-${l.name}`}>
                  <td>
                    {LIMIT_TITLES[l.name] ?? l.name} <span className="muted">{l.name}</span>
                  </td>
                  <td className="num" data-testid="used">
                    {l.used.toLocaleString('en-US')}
                  </td>
                  <td className="num" data-testid="remaining">
                    {l.remaining.toLocaleString('en-US')}
                  </td>
                  <td className="num">{formatAmount(l.limit, l.unit)}</td>
                  <td className="muted" data-testid="capacity">
                    {capacity(l)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>

        <section className="card" data-testid="budget">
          <h2>Monthly AI budget</h2>
          {spend.quotaUsd === null ? (
            <p data-testid="spent">Unlimited plan · {formatUsd(spend.spentCents)} spent this month</p>
          ) : (
            <>
              <p data-testid="spent">
                {formatUsd(spend.spentCents)} of ${spend.quotaUsd.toFixed(2)} used ({spend.percentUsed}%) · {formatUsd(spend.remainingCents ?? 0)} left
              </p>
              <div className="bar">
                <span style={{ width: `${Math.min(100, spend.percentUsed)}%` }} />
              </div>
              {spend.warning && (
                <p className={spend.warning === 'critical' ? 'alert' : 'notice'} data-testid="budget-warning">
                  {spend.warning === 'critical' ? 'Over 95% of the monthly AI budget is used.' : 'Over 80% of the monthly AI budget is used.'}
                </p>
              )}
            </>
          )}
          <p className="muted">Renews {formatTime(spend.renewsAt)}</p>
        </section>
      </div>

      <div className="grid" style={{ marginTop: 16 }}>
        <section className="card" data-testid="denials">
          <h2>Recent denials</h2>
          {view.denials.length === 0 ? (
            <p className="muted">None recorded.</p>
          ) : (
            <table>
              <tbody>
                {view.denials.map((d, i) => (
                  <tr key={`${d.at}-${i}`} data-testid="denial">
                    <td>{formatTime(d.at)}</td>
                    <td>{LIMIT_TITLES[d.limit] ?? d.limit}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card" data-testid="reservations">
          <h2>Outstanding reservations</h2>
          {view.reservations.length === 0 ? (
            <p className="muted">None: no AI call is running.</p>
          ) : (
            <table>
              <tbody>
                {view.reservations.map((r) => (
                  <tr key={r.id} data-testid="reservation">
                    <td>{r.id}</td>
                    <td>{r.parts.map((p) => `${p.limit} ${p.cost}`).join(', ')}</td>
                    <td className="muted">expires {relative(r.expiresAt, view.now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card" data-testid="creator-anomalies">
          <h2>Anomalies</h2>
          {view.anomalies.length === 0 ? (
            <p className="muted">None recorded.</p>
          ) : (
            <table>
              <tbody>
                {view.anomalies.map((a) => (
                  <tr key={`${a.at}-${a.rule}`} data-testid="creator-anomaly">
                    <td>{formatTime(a.at)}</td>
                    <td>{ANOMALY_RULES[a.rule]}</td>
                    <td className="num">
                      {a.value} &gt; {a.threshold}
                    </td>
                    <td className="muted">{a.blockedUntil ? `blocked until ${formatTime(a.blockedUntil)}` : 'not blocked'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section className="card actions" style={{ marginTop: 16 }}>
        <h2>Actions</h2>
        <p className="muted">Each one applies at once on every app instance and is written to the audit log.</p>
        <ActionForm action={resetLimits} label="Reset rate limits" testId="action-reset" danger>
          {hidden}
          <Choice
            label="Reset"
            name="limit"
            ariaLabel="Limit to reset"
            defaultValue="all"
            options={[['all', 'every rate limit'], ...resettableLimits(app.limiters, view.plan).filter((l) => l !== SPEND_LIMIT)]}
          />
          <Reason />
        </ActionForm>
        <ActionForm action={resetLimits} label="Reset monthly spend" testId="action-reset-spend" danger>
          {hidden}
          <input type="hidden" name="limit" value={SPEND_LIMIT} />
          <label>
            <input type="checkbox" name="confirm" value="yes" required aria-label="Confirm the spend reset" /> Start this month&apos;s AI spend again from $0.00 ({formatUsd(spend.spentCents)} spent now). This is not part of resetting rate limits.
          </label>
          <Reason />
        </ActionForm>
        <ActionForm action={overridePlan} label="Override plan" testId="action-override">
          {hidden}
          <Choice label="Plan" name="plan" ariaLabel="Override plan" defaultValue={view.basePlan === 'business' ? 'pro' : 'business'} options={PLANS} />
          <Choice label="For" name="duration" ariaLabel="Override duration" defaultValue="24 h" options={DURATIONS} />
          <Reason />
        </ActionForm>
        <ActionForm action={blockCreator} label="Block" testId="action-block" danger>
          {hidden}
          <Choice label="For" name="duration" ariaLabel="Block duration" defaultValue="1 h" options={DURATIONS} />
          <Reason />
        </ActionForm>
        <ActionForm action={liftControls} label="Lift" testId="action-lift">
          {hidden}
          <Choice
            label="Lift"
            name="what"
            ariaLabel="What to lift"
            defaultValue="both"
            options={[
              ['both', 'override and block'],
              ['override', 'the plan override'],
              ['block', 'the block'],
            ]}
          />
          <Reason />
        </ActionForm>
      </section>

      <section className="card" data-testid="creator-audit">
        <h2>Recent admin actions on {view.id}</h2>
        {view.audit.length === 0 ? <p className="muted">None.</p> : <AuditTable entries={view.audit} showCreator={false} />}
      </section>
    </Shell>
  );
}
