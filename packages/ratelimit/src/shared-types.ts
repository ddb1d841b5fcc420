// The shapes of shared budgets' configuration (types only), apart from src/shared.ts so the
// limiter's option types can name them without an import cycle.
import type { LimitConfig } from './policy';

/** One shared budget: limits every call of its plans is charged against, whoever makes it. */
export interface SharedBudgetConfig {
  /**
   * The budget's limits, written like a plan's (for example 3,000 requests and 1,000,000 tokens
   * per minute). Their names must differ from every plan's limit names: they name the budget in
   * `deniedBy`.
   */
  limits: readonly LimitConfig[];
  /**
   * The fair share: no identifier may use more than this fraction of each of the budget's limits
   * in any window (a per-identifier limit of `floor(maxShare x limit)`, at least 1, named
   * `<limit>-share`, same window and unit, checked with the identifier's own limits). Always
   * applied, not only once the budget runs short: usage before a shortage cannot be taken back,
   * so a share applied late would not bound it. With `maxShare: 0.2`, five identifiers at least
   * are needed to use the whole budget.
   * @default 1 (no share: only the budget itself)
   */
  maxShare?: number;
  /**
   * The plans charged against it.
   * @default every plan
   */
  plans?: readonly string[];
}

/** Shared budgets by name (letters, digits, `-`, `_`). */
export type SharedBudgetsConfig = Readonly<Record<string, SharedBudgetConfig>>;
