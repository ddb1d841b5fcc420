// A denial by the AI provider's shared budget, in words: a platform-wide limit shared by every
// creator, not the creator's plan (shared by the server's error message and the page, so the two
// cannot disagree).

/** What a denial says about who denied it (the error data's fields). */
export interface PlatformDenial {
  /** The shared budget that denied, when one did. */
  readonly sharedBudget?: string | undefined;
  /** The denying limit: the budget's (`provider-tokens`) or the creator's share of it (`provider-tokens-share`). */
  readonly deniedBy: string | undefined;
  /** The denying limit's unit. */
  readonly unit: string | undefined;
}

/** Whether a shared budget (or the creator's fair share of it) denied. */
export const isPlatformLimit = (d: PlatformDenial): boolean => d.sharedBudget !== undefined && d.sharedBudget !== '';

/** The sentence for a shared-budget denial, without the wait. */
export function platformLimitText(d: PlatformDenial): string {
  const what = d.unit === 'tokens' ? 'AI tokens' : 'AI requests';
  if (d.deniedBy?.endsWith('-share')) {
    return `You have used your fair share of the platform's ${what} for now: a platform-wide limit shared by all creators (no one may take more than a share of it), not a limit of your plan.`;
  }
  return `The platform's AI capacity is fully used by all creators right now: a platform-wide limit on ${what} shared by every creator, not a limit of your plan.`;
}
