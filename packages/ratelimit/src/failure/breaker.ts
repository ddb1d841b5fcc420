// When to stop asking the store: one breaker per shard, opened on evidence of an outage, never
// on one slow answer. The rule (also in the package README): a shard's breaker opens
//
//   - at once when a call fails while the store says its connection to that shard is down
//     (refused, closed, never ready: nothing is coming back), or
//   - with the connection up, when its last `failures` calls all failed and those calls were
//     sent over at least `downAfterMs` (the first sent that long before the last): calls made
//     over that time have all failed. Neither time without calls nor the time a starved process
//     takes to notice a timeout counts: a burst sent together that times out together is
//     slowness, however late its failures are seen.
//
// A timeout on a connected shard that still answers now and then is slowness, not an outage.
// Once open, the shard is skipped for `retryAfterMs`; then one call at a time probes it, and the
// probe's success closes the breaker. Every open and close starts a new generation: an answer
// to a call started in an earlier generation (a late success from before the failure) changes
// nothing.

export interface BreakerOptions {
  /** With the connection up: failed calls in a row needed to open... */
  readonly failures: number;
  /** ... sent over at least this long (from the first of them to the last). */
  readonly downAfterMs: number;
  /** How long an open breaker skips the shard before one call probes it. */
  readonly retryAfterMs: number;
  /** Whether the connection to a shard is up; undefined when unknown. */
  readonly connected: (shard: string) => boolean | undefined;
  readonly onOpen: (shard: string, reason: string) => void;
  readonly onClose: (shard: string) => void;
}

/** A call's pass through the breaker of its shard. */
export interface Ticket {
  readonly shard: string;
  readonly generation: number;
  readonly probe: boolean;
  /** performance.now() when the call was let through (sent). */
  readonly started: number;
}

interface State {
  open: boolean;
  generation: number;
  /** Failures in a row (closed breaker). */
  failed: number;
  /** performance.now() when the first and the last of those failed calls were sent. */
  firstSent: number;
  lastSent: number;
  /** While open: when the next probe may go. */
  retryAt: number;
  probing: boolean;
}

export interface Breakers {
  /** A ticket to call the store, or undefined when the shard's breaker is open (answer by policy). */
  enter(shard: string): Ticket | undefined;
  succeeded(ticket: Ticket): void;
  /** Records a failure; returns whether the shard's breaker is open now. */
  failed(ticket: Ticket, reason: string): boolean;
  /** When an open shard will be tried again (performance.now()); 0 when closed. */
  retryAt(shard: string): number;
  /** Whether any shard's breaker is open. */
  anyOpen(): boolean;
  /** Closes the breakers of shards that serve nothing any more (a failed-over cluster master). */
  retire(current: ReadonlySet<string>): void;
}

export function createBreakers(options: BreakerOptions): Breakers {
  const shards = new Map<string, State>();
  /** Shards whose breaker is open: anyOpen() is asked on every call. */
  let open = 0;
  const state = (shard: string) => {
    let s = shards.get(shard);
    if (!s) shards.set(shard, (s = { open: false, generation: 0, failed: 0, firstSent: 0, lastSent: 0, retryAt: 0, probing: false }));
    return s;
  };
  return {
    enter(shard) {
      const s = state(shard);
      const started = performance.now();
      if (!s.open) return { shard, generation: s.generation, probe: false, started };
      if (s.probing || started < s.retryAt) return undefined;
      s.probing = true;
      return { shard, generation: s.generation, probe: true, started };
    },
    succeeded(ticket) {
      const s = state(ticket.shard);
      if (ticket.generation !== s.generation) return; // started before the last open or close
      s.failed = 0;
      if (!s.open) return;
      s.open = false;
      open--;
      s.probing = false;
      s.generation++;
      options.onClose(ticket.shard);
    },
    failed(ticket, reason) {
      const s = state(ticket.shard);
      if (ticket.generation !== s.generation) return s.open;
      if (s.open) {
        // the probe failed: wait again
        s.probing = false;
        s.retryAt = performance.now() + options.retryAfterMs;
        return true;
      }
      s.firstSent = s.failed === 0 ? ticket.started : Math.min(s.firstSent, ticket.started);
      s.lastSent = s.failed === 0 ? ticket.started : Math.max(s.lastSent, ticket.started);
      s.failed++;
      const disconnected = options.connected(ticket.shard) === false;
      if (!disconnected && (s.failed < options.failures || s.lastSent - s.firstSent < options.downAfterMs)) return false;
      s.open = true;
      open++;
      s.generation++;
      s.failed = 0;
      s.retryAt = performance.now() + options.retryAfterMs;
      options.onOpen(ticket.shard, reason);
      return true;
    },
    retryAt(shard) {
      const s = shards.get(shard);
      return s?.open ? s.retryAt : 0;
    },
    anyOpen() {
      return open > 0;
    },
    retire(current) {
      for (const [shard, s] of shards) {
        if (current.has(shard)) continue;
        shards.delete(shard);
        if (!s.open) continue;
        open--;
        options.onClose(shard);
      }
    },
  };
}
