// How the pages write times, waits and amounts. Server-rendered, in UTC: admins in different
// places read the same times as the audit log. Waits are written the engine's way.
import { formatWait } from '@airl/ratelimit';

export { formatWait };

/** "2026-11-27 14:03:09 UTC". */
export function formatTime(at: number): string {
  return `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "in 14 minutes", "3 hours ago", "now". */
export function relative(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < 1000) return 'now';
  return d > 0 ? `in ${formatWait(d)}` : `${formatWait(-d)} ago`;
}

/** "$12.34" from cents. */
export const formatUsd = (cents: number): string => `$${(cents / 100).toFixed(2)}`;

/** An amount in its unit: cents as dollars, others as grouped numbers. */
export function formatAmount(amount: number, unit: string): string {
  if (unit === 'cents') return formatUsd(amount);
  return `${amount.toLocaleString('en-US')} ${unit === 'requests' && amount === 1 ? 'request' : unit}`;
}
