import { RateLimitStoreError } from '@airl/ratelimit';

/** Runs a page's reads; a Redis failure becomes a message on the page instead of an error page. */
export async function load<T>(read: () => Promise<T>): Promise<{ data: T; error?: undefined } | { data?: undefined; error: string }> {
  try {
    return { data: await read() };
  } catch (error) {
    if (!(error instanceof RateLimitStoreError)) throw error;
    return { error: `Redis did not answer (${error.message}). Reload to try again.` };
  }
}

export function Unavailable({ error }: { error: string }) {
  return (
    <p className="alert" role="alert" data-testid="unavailable">
      {error}
    </p>
  );
}
