/** Exponential backoff with full-range jitter, so a fleet does not reconnect in lockstep after an outage. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the delay is drawn from [d*(1-jitter), d]. */
  jitter: number;
}

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 - this.opts.jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
