// The audit log: who did what to whom and when, in a capped stream for everyone and a small one per
// identifier (so a creator's page reads only its own history). Written by the admin API and by
// anomaly rules that block.
import type { StreamEntry, StreamStore } from './stores/types';
import { DAY_MS } from './time';

/** One line of the audit log. */
export interface AuditEntry {
  readonly id: string;
  /** Epoch ms. */
  readonly at: number;
  readonly actor: string;
  /** `plans` / `restore-plans`: live plan sizes set or removed (identifier `~plans`). */
  readonly action: 'reset' | 'override' | 'block' | 'lift' | 'plans' | 'restore-plans';
  readonly identifier: string;
  /** What exactly: the limit reset, the plan and expiry, the reason. */
  readonly details: Readonly<Record<string, string | number>>;
}

/** How long an identifier's own audit entries are kept after its last one. */
const PER_IDENTIFIER_TTL_MS = 90 * DAY_MS;
/** Entries an identifier's own stream keeps. */
const PER_IDENTIFIER_LENGTH = 100;

export async function recordAudit(
  store: StreamStore,
  entry: Omit<AuditEntry, 'id' | 'at' | 'details'> & { details: Readonly<Record<string, string | number | undefined>> },
  maxLength: number,
): Promise<void> {
  const fields = {
    at: String(Date.now()),
    actor: entry.actor,
    action: entry.action,
    identifier: entry.identifier,
    details: JSON.stringify(Object.fromEntries(Object.entries(entry.details).filter(([, v]) => v !== undefined))),
  };
  await store.append('audit', fields, { maxLength });
  await store.append('audit', fields, { maxLength: PER_IDENTIFIER_LENGTH, identifier: entry.identifier, ttlMs: PER_IDENTIFIER_TTL_MS });
}

export function parseAuditEntry(e: StreamEntry): AuditEntry {
  let details: Record<string, string | number> = {};
  try {
    details = JSON.parse(e.fields.details ?? '{}') as Record<string, string | number>;
  } catch {
    // an entry written by something else: show it without details
  }
  return {
    id: e.id,
    at: Number(e.fields.at),
    actor: e.fields.actor ?? '',
    action: e.fields.action as AuditEntry['action'],
    identifier: e.fields.identifier ?? '',
    details,
  };
}
