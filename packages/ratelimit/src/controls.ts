// Every instance's copy of the admins' controls (plan overrides, blocks): loaded on first use,
// kept current by the store's announcements, and reloaded now and then in case one was missed.
// The check path reads a Map; it never waits on Redis for this once loaded.
import type { Control, ControlStore, Decision } from './stores/types';

/** The parts of a control still in force at `now` (epoch ms), or undefined when none is. */
export function liveControl(control: Control | undefined, now: number): Control | undefined {
  const override = control?.override && control.override.until > now ? control.override : undefined;
  const block = control?.block && control.block.until > now ? control.block : undefined;
  return override || block ? { ...(override && { override }), ...(block && { block }) } : undefined;
}

/** Writes one part of an identifier's control (or removes it), keeping the other part in force. */
export async function updateControl(
  store: ControlStore,
  identifier: string,
  change: { override?: (Decision & { plan: string }) | null; block?: Decision | null },
): Promise<Control | undefined> {
  const current = liveControl(await store.control(identifier), Date.now());
  const override = change.override === undefined ? current?.override : (change.override ?? undefined);
  const block = change.block === undefined ? current?.block : (change.block ?? undefined);
  const next = override || block ? { ...(override && { override }), ...(block && { block }) } : undefined;
  await store.setControl(identifier, next);
  return next;
}

export interface ControlCache {
  /** Resolves once loaded (at once, after the first time). Never rejects. */
  ready(): Promise<void> | undefined;
  get(identifier: string): Control | undefined;
  close(): Promise<void>;
}

export interface ControlCacheOptions {
  store: ControlStore;
  refreshMs: number;
  /** An identifier changed (undefined: anything may have changed). */
  onChange: (identifier: string | undefined) => void;
  onError: (error: unknown) => void;
}

export function createControlCache({ store, refreshMs, onChange, onError }: ControlCacheOptions): ControlCache {
  let controls = new Map<string, Control>();
  let loading: Promise<void> | undefined;
  let loaded = false;
  let retryAt = 0;
  let stop: (() => Promise<void>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = async () => {
    controls = await store.controls();
  };

  const announced = (identifier: string | undefined) => {
    const update = identifier === undefined ? reload() : store.control(identifier).then((c) => {
      if (c) controls.set(identifier, c);
      else controls.delete(identifier);
    });
    update.then(() => onChange(identifier), onError);
  };

  const start = async () => {
    // listen first, then load: a change made in between is not missed
    stop ??= await store.listen(announced);
    await reload();
    loaded = true;
    timer ??= setInterval(() => void reload().catch(onError), refreshMs);
    timer.unref();
  };

  return {
    ready() {
      if (loaded || closed) return undefined;
      if (Date.now() < retryAt) return undefined;
      loading ??= start().catch((error: unknown) => {
        // go on without controls for a while rather than fail every call
        loading = undefined;
        retryAt = Date.now() + Math.min(refreshMs, 5000);
        onError(error);
      });
      return loading;
    },
    get(identifier) {
      return controls.get(identifier);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await stop?.();
    },
  };
}
