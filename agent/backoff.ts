/**
 * Exponential backoff with full jitter (a uniformly random delay between 0 and the exponential
 * ceiling): the spread keeps many agents that lost the same control plane from reconnecting in step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call widens the window until the cap. */
  nextDelayMs(): number {
    const ceilingMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempt);
    if (ceilingMs < this.maxDelayMs) this.attempt++;
    return Math.floor(this.random() * ceilingMs);
  }

  reset(): void {
    this.attempt = 0;
  }
}
