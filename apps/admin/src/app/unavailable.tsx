import { isRedisFailure } from '@airl/creators';

/** What an admin reads when Redis fails: never the client library's text (the server log has it). */
export const REDIS_UNREACHABLE = 'Redis unreachable: the data of this page lives there. Reload to try again; the server log says why.';

/** Runs a page's reads; a Redis failure becomes a message on the page instead of an error page. */
export async function load<T>(read: () => Promise<T>): Promise<{ data: T; error?: undefined } | { data?: undefined; error: string }> {
  try {
    return { data: await read() };
  } catch (error) {
    if (!isRedisFailure(error)) throw error;
    console.warn(`Admin page read failed: ${error.message}`);
    return { error: REDIS_UNREACHABLE };
  }
}

export function Unavailable({ error }: { error: string }) {
  return (
    <p className="alert" role="alert" data-testid="unavailable">
      {error}
    </p>
  );
}
