/**
 * Simulated time: advances with wall time multiplied by a time scale, and stands still while paused.
 */
import { performance } from 'node:perf_hooks';

export class SimClock {
  /** Sim seconds accumulated up to the last pause or resume. */
  private baseS = 0;
  /** Wall time (ms) of the last resume; undefined while paused. */
  private runningSinceMs: number | undefined;

  constructor(
    readonly timeScale: number,
    paused = false,
    private readonly wallMs: () => number = () => performance.now(),
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
    if (!paused) this.runningSinceMs = this.wallMs();
  }

  get running(): boolean {
    return this.runningSinceMs !== undefined;
  }

  nowS(): number {
    if (this.runningSinceMs === undefined) return this.baseS;
    return this.baseS + ((this.wallMs() - this.runningSinceMs) / 1000) * this.timeScale;
  }

  pause(): void {
    if (this.runningSinceMs === undefined) return;
    this.baseS = this.nowS();
    this.runningSinceMs = undefined;
  }

  resume(): void {
    if (this.runningSinceMs === undefined) this.runningSinceMs = this.wallMs();
  }
}
