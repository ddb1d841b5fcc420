'use client';
import { useActionState } from 'react';

import type { SignInState } from '../action-state';
import { signIn } from '../actions';

export function SignInForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState(signIn, {} satisfies SignInState);
  return (
    <form action={action} className="card" style={{ maxWidth: 380 }}>
      <input type="hidden" name="next" value={next} />
      <label htmlFor="username">User name</label>
      <input id="username" name="username" type="text" autoComplete="username" required maxLength={64} defaultValue={state.username} style={{ width: '100%' }} />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required maxLength={1024} style={{ width: '100%' }} />
      {state.error && (
        <p className="alert" role="alert" data-testid="sign-in-error">
          {state.error}
        </p>
      )}
      <p>
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </p>
    </form>
  );
}
