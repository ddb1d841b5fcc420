// The plan editor: every limit of every plan and of the shared budget (the AI provider's) with
// its size in force and the code's default; an admin changes sizes (validated, audited, applied
// at once on every instance) or restores the code's plans. Below, the shared budget's use, live.
import { formatTime } from '~/lib/format';
import { getApp } from '~/server/app';
import { requireAdmin } from '~/server/guard';
import { planSizes } from '~/server/plan-actions';
import { sharedBudgetUse } from '~/server/shared-budget';

import { ActionForm } from '../action-form';
import { restorePlans, updatePlans } from '../actions';
import { Shell } from '../shell';
import { BudgetUsePanel } from './budget-use';
import { load, Unavailable } from '../unavailable';

export const dynamic = 'force-dynamic';

export default async function PlansPage() {
  const admin = await requireAdmin('/plans');
  const app = getApp();
  const editor = app.plans;
  const [{ data, error }, { data: use }] = await Promise.all([
    editor ? load(() => planSizes(editor)) : { data: undefined, error: undefined },
    load(() => sharedBudgetUse(app)),
  ]);
  return (
    <Shell admin={admin}>
      <h1>Plans</h1>
      <p className="muted">
        Sizes of each plan&apos;s limits and of the AI provider&apos;s shared budget (requests and tokens per minute for every creator together, and the fair share one creator may use). A change applies at once to every app instance and keeps what creators used; names, windows and units stay as the code defines them.
      </p>
      {!editor && <p className="notice">Plans cannot be changed live on this deployment (the Lambda store keeps no plans).</p>}
      {error && <Unavailable error={error} />}
      {data && (
        <section className="card" data-testid="plan-editor">
          <p className="muted" data-testid="plans-source">
            {data.changedBy ? `Changed by ${data.changedBy} at ${formatTime(data.changedAt!)}.` : "The code's plans apply."}
          </p>
          <ActionForm action={updatePlans} label="Save plan sizes" testId="update-plans">
            {Object.entries(data.effective).map(([plan, limits]) => (
              <fieldset key={plan} data-testid={`plan-${plan}`}>
                <legend>{plan}</legend>
                {Object.entries(limits).map(([limit, size]) => (
                  <label key={limit}>
                    {`${plan} ${limit}`}
                    <input type="number" name={`size:${plan}:${limit}`} defaultValue={size} min={1} step={1} required />
                    <span className="muted"> default {data.code[plan]?.[limit]}</span>
                  </label>
                ))}
              </fieldset>
            ))}
            {Object.entries(data.budgets.effective).map(([budget, sizes]) => (
              <fieldset key={budget} data-testid={`budget-${budget}`}>
                <legend>Shared budget: {budget}</legend>
                {Object.entries(sizes.limits).map(([limit, size]) => (
                  <label key={limit}>
                    {limit}
                    <input type="number" name={`budget:${budget}:${limit}`} defaultValue={size} min={1} step={1} required />
                    <span className="muted"> default {data.budgets.code[budget]?.limits[limit]}</span>
                  </label>
                ))}
                <label>
                  {`${budget} fair share`}
                  <input type="number" name={`share:${budget}`} defaultValue={sizes.maxShare} min={0.000001} max={1} step="any" required />
                  <span className="muted"> default {data.budgets.code[budget]?.maxShare} (the most of each limit one creator may use)</span>
                </label>
              </fieldset>
            ))}
            <label>
              Reason
              <input type="text" name="reason" maxLength={500} />
            </label>
          </ActionForm>
          <ActionForm action={restorePlans} label="Restore the code's plans" testId="restore-plans" danger />
        </section>
      )}
      {use && <BudgetUsePanel initial={use} />}
    </Shell>
  );
}
