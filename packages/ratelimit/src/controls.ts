// Every instance's copy of the admins' controls (plan overrides, blocks): loaded on first use,
// kept current by the store's announcements, and reloaded now and then in case one was missed.
// The check path reads a Map; it never waits on Redis for this once loaded.
import type { Control, Store } from './stores/types';

export interface ControlCache {
  /** Resolves once loaded (at once, after the first time). Never rejects. */
  ready(): Promise<void> | undefined;
  get(identifier: string): Control | undefined;
  close(): Promise<void>;
}

export interface ControlCacheOptions {
  store: Store;
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
