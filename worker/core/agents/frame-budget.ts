/**
 * How much work one agent connection may cause: a token bucket of frames (FRAME_BUDGET in the
 * protocol). Each frame takes a token; tokens come back at `perSecond` up to `burst`. Both hosts
 * keep one per socket and close the socket with `tooManyFrames` once a frame finds the bucket
 * empty, before parsing it, so a flooding host costs a counter, not a database write.
 */
import { FRAME_BUDGET } from '../../../protocol/agent-protocol';

export class FrameBudget {
  private tokens: number;
  private refilledAtMs: number;

  constructor(
    private readonly now: () => number,
    private readonly perSecond: number = FRAME_BUDGET.perSecond,
    private readonly burst: number = FRAME_BUDGET.burst,
  ) {
    this.tokens = burst;
    this.refilledAtMs = now();
  }

  /** Takes one frame's token; false when the connection is over its budget. */
  take(): boolean {
    const nowMs = this.now();
    const refill = ((nowMs - this.refilledAtMs) * this.perSecond) / 1000;
    if (refill > 0) {
      this.tokens = Math.min(this.burst, this.tokens + refill);
      this.refilledAtMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
