'use client';
// A form bound to a server action through useActionState: it shows what the action answered, and
// works without JavaScript too (the action's answer is rendered on the page it returns).
import { type ReactNode, useActionState } from 'react';
import { useFormStatus } from 'react-dom';

import type { ActionState } from './action-state';

type Action = (previous: ActionState, form: FormData) => Promise<ActionState>;

function Submit({ label, danger }: { label: string; danger: boolean | undefined }) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" className={danger ? 'danger' : undefined} disabled={pending}>
      {pending ? 'Working…' : label}
    </button>
  );
}

export function ActionForm({ action, label, testId, danger, children }: { action: Action; label: string; testId: string; danger?: boolean; children?: ReactNode }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <div data-testid={testId}>
      <form action={formAction}>
        {children}
        <Submit label={label} danger={danger} />
      </form>
      {state.message && (
        <p className={state.ok ? 'ok' : 'alert'} role={state.ok ? 'status' : 'alert'} data-testid={`${testId}-result`}>
          {state.message}
        </p>
      )}
    </div>
  );
}
