'use client';
// The shared budgets' use, live: used / limit of each of the AI provider's limits, read again
// every 3 s while the page is visible (short polling, as the web app's quota page does: it works
// on every store and behind any proxy).
import { formatCount, pollWhileVisible } from '@airl/creators';
import { useCallback, useEffect, useState } from 'react';

import type { BudgetUse } from '~/server/shared-budget';

/** How often the panel reads the budgets while the page is visible. */
export const BUDGET_POLL_MS = 3000;

type Reading = { budgets: BudgetUse[]; now: number };

const share = (maxShare: number, limit: number) => Math.max(1, Math.floor(maxShare * limit));

export function BudgetUsePanel({ initial }: { initial: Reading }) {
  const [reading, setReading] = useState<Reading>(initial);
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(() => {
    fetch('/api/shared-budget', { cache: 'no-store' })
      .then(async (res) => {
        const body = (await res.json()) as Reading | { error: string };
        if ('error' in body) throw new Error(body.error);
        setReading(body);
        setError(undefined);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  useEffect(() => {
    return pollWhileVisible(document, refresh, BUDGET_POLL_MS);
  }, [refresh]);

  return (
    <section className="card" data-testid="budget-use">
      <h2>Shared budget use, live</h2>
      <p className="muted">What every creator together uses of the AI provider&apos;s limits now (read every 3 seconds while this page is visible).</p>
      {error && (
        <p className="alert" role="alert" data-testid="budget-use-error">
          {error}
        </p>
      )}
      {reading.budgets.length === 0 && <p className="muted">No shared budget is configured.</p>}
      {reading.budgets.map((b) => (
        <table key={b.name} data-testid={`budget-use-${b.name}`}>
          <caption>
            {b.name}: {b.maxShare < 1 ? `no creator may use more than ${Math.round(b.maxShare * 1000) / 10}% of a limit` : 'no fair share'}
          </caption>
          <thead>
            <tr>
              <th>Limit</th>
              <th className="num">Used</th>
              <th className="num">Limit</th>
              <th className="num">Per creator at most</th>
            </tr>
          </thead>
          <tbody>
            {b.limits.map((l) => (
              <tr key={l.name} data-testid={`budget-limit-${l.name}`}>
                <td>{l.name}</td>
                <td className="num" data-testid="used">
                  {formatCount(l.used)}
                </td>
                <td className="num" data-testid="limit">
                  {formatCount(l.limit)} {l.unit}
                </td>
                <td className="num">{formatCount(b.maxShare < 1 ? share(b.maxShare, l.limit) : l.limit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
