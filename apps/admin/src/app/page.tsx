// The dashboard: who consumed most this hour and today (requests, tokens, spend), from the
// engine's usage boards, the overrides and blocks in force, and the latest anomalies.
import Link from 'next/link';

import { formatAmount, formatTime, formatWait } from '~/lib/format';
import { creatorHref } from '~/lib/links';
import { getApp } from '~/server/app';
import { type Consumer, dashboard, type Unit, UNITS } from '~/server/dashboard';
import { requireAdmin } from '~/server/guard';

import { Shell } from './shell';
import { load, Unavailable } from './unavailable';

export const dynamic = 'force-dynamic';

const UNIT_TITLES: Record<Unit, string> = { requests: 'Requests', tokens: 'Tokens', cents: 'Spend' };
const RULES: Record<string, string> = { burst: 'Burst of calls', 'denial-storm': 'Denial storm', 'cost-spike': 'Cost spike' };

function Board({ rows, unit, testId }: { rows: readonly Consumer[]; unit: Unit; testId: string }) {
  return (
    <div data-testid={testId}>
      <h3>{UNIT_TITLES[unit]}</h3>
      {rows.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <table>
          <tbody>
            {rows.map((r) => (
              <tr key={r.identifier} data-testid="consumer">
                <td>
                  <Link href={creatorHref(r.identifier)}>{r.identifier}</Link>
                </td>
                <td className="num">{formatAmount(r.amount, unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export default async function DashboardPage() {
  const admin = await requireAdmin('/');
  const { data, error } = await load(() => dashboard(getApp()));
  return (
    <Shell admin={admin}>
      <h1>Dashboard</h1>
      {error && <Unavailable error={error} />}
      {data && (
        <>
          <div className="grid">
            {(['hour', 'day'] as const).map((period) => (
              <section className="card stack" key={period} data-testid={`top-${period}`}>
                <h2>Top consumers {period === 'hour' ? 'this hour' : 'today'} (UTC)</h2>
                {UNITS.map((unit) => (
                  <Board key={unit} rows={data.top[period][unit]} unit={unit} testId={`top-${period}-${unit}`} />
                ))}
              </section>
            ))}
          </div>
          <section className="card" style={{ marginTop: 16 }} data-testid="controls">
            <h2>Overrides and blocks in force</h2>
            {data.controls.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Creator</th>
                    <th>Plan override</th>
                    <th>Block</th>
                  </tr>
                </thead>
                <tbody>
                  {data.controls.map((c) => (
                    <tr key={c.identifier} data-testid="control">
                      <td>
                        <Link href={creatorHref(c.identifier)}>{c.identifier}</Link>
                      </td>
                      <td>
                        {c.override ? (
                          <>
                            {c.override.plan} until {formatTime(c.override.until)}
                            <span className="muted">
                              {' '}
                              by {c.override.by}
                              {c.override.reason && `: ${c.override.reason}`}
                            </span>
                          </>
                        ) : (
                          <span className="muted">none</span>
                        )}
                      </td>
                      <td>
                        {c.block ? (
                          <>
                            until {formatTime(c.block.until)}
                            <span className="muted">
                              {' '}
                              by {c.block.by}
                              {c.block.reason && `: ${c.block.reason}`}
                            </span>
                          </>
                        ) : (
                          <span className="muted">not blocked</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card" style={{ marginTop: 16 }} data-testid="anomalies">
            <h2>Latest anomalies</h2>
            {data.anomalies.length === 0 ? (
              <p className="muted">None recorded.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Rule</th>
                    <th>Creator</th>
                    <th>Plan</th>
                    <th className="num">Seen</th>
                    <th className="num">Threshold</th>
                    <th>Blocked until</th>
                  </tr>
                </thead>
                <tbody>
                  {data.anomalies.map((a) => (
                    <tr key={a.id} data-testid="anomaly">
                      <td>{formatTime(a.at)}</td>
                      <td>
                        {RULES[a.rule] ?? a.rule}
                        {Number.isFinite(a.windowMs) && <span className="muted"> in {formatWait(a.windowMs)}</span>}
                      </td>
                      <td>
                        <Link href={creatorHref(a.identifier)}>{a.identifier}</Link>
                      </td>
                      <td>{a.plan}</td>
                      <td className="num">{a.value}</td>
                      <td className="num">{a.threshold}</td>
                      <td>{a.blockedUntil ? formatTime(a.blockedUntil) : <span className="muted">not blocked</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </Shell>
  );
}
