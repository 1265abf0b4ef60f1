/** A view draws itself into `root` and returns what to undo (timers, subscriptions) when it goes away. */
export type View = (root: HTMLElement, params: Record<string, string>) => (() => void) | void;

/** Runs `refresh` now and every `ms`, until the returned function is called. */
export function every(ms: number, refresh: () => Promise<void> | void): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      await refresh();
    } catch (err) {
      // Views show their own errors; one failed refresh must not end the refreshing.
      console.warn('refresh failed', err);
    } finally {
      if (!stopped) timer = setTimeout(tick, ms);
    }
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
