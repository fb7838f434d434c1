/**
 * Per-key limits at the edge: a request rate (a token bucket per access key) and a number of open
 * event streams. One leaked or buggy key can then slow only itself, not every caller of the
 * control plane.
 *
 * The counts live in the memory of the process that serves the request: on Node that is the whole
 * control plane; on Workers it is one isolate, so a key spread across many isolates gets that many
 * buckets (docs/security.md says so; Cloudflare's rate-limiting rules sit in front for that case).
 */
import type { BerthConfig } from '../../core/deps';

export interface KeyLimitSettings {
  /** Sustained requests per second per key; 0 turns the rate limit off. */
  requestsPerSecond: number;
  /** How many requests a key may make at once after being idle. */
  burst: number;
  /** Open event streams per key; 0 turns the cap off. */
  streams: number;
}

export const DEFAULT_KEY_LIMITS: KeyLimitSettings = { requestsPerSecond: 100, burst: 200, streams: 10 };

export function keyLimitSettings(config: BerthConfig): KeyLimitSettings {
  return {
    requestsPerSecond: config.apiRequestsPerSecondPerKey ?? DEFAULT_KEY_LIMITS.requestsPerSecond,
    burst: config.apiBurstPerKey ?? DEFAULT_KEY_LIMITS.burst,
    streams: config.eventStreamsPerKey ?? DEFAULT_KEY_LIMITS.streams,
  };
}

/** Keys tracked at once; past it, buckets that have refilled (hold nothing) are forgotten first. */
const MAX_TRACKED_KEYS = 10_000;

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

export class KeyLimits {
  private readonly buckets = new Map<string, Bucket>();
  private readonly openStreams = new Map<string, number>();

  constructor(
    readonly settings: KeyLimitSettings,
    private readonly now: () => number,
  ) {}

  /** Takes one request from the key's bucket; false when the key is over its rate. */
  takeRequest(accessKeyId: string): boolean {
    const { requestsPerSecond, burst } = this.settings;
    if (requestsPerSecond === 0) return true;
    const nowMs = this.now();
    const bucket = this.buckets.get(accessKeyId) ?? this.newBucket(accessKeyId, nowMs);
    const refill = ((nowMs - bucket.refilledAtMs) / 1000) * requestsPerSecond;
    bucket.tokens = Math.min(burst, bucket.tokens + refill);
    bucket.refilledAtMs = nowMs;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * Claims an event-stream slot for the key: the release function to call when the stream ends, or
   * undefined when the key already has its cap open.
   */
  claimStream(accessKeyId: string): (() => void) | undefined {
    const cap = this.settings.streams;
    const open = this.openStreams.get(accessKeyId) ?? 0;
    if (cap !== 0 && open >= cap) return undefined;
    this.openStreams.set(accessKeyId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.openStreams.get(accessKeyId) ?? 1) - 1;
      if (left <= 0) this.openStreams.delete(accessKeyId);
      else this.openStreams.set(accessKeyId, left);
    };
  }

  private newBucket(accessKeyId: string, nowMs: number): Bucket {
    if (this.buckets.size >= MAX_TRACKED_KEYS) this.forgetFullBuckets(nowMs);
    const bucket = { tokens: this.settings.burst, refilledAtMs: nowMs };
    this.buckets.set(accessKeyId, bucket);
    return bucket;
  }

  /** A bucket that would be full again is the same as no bucket: dropping it changes nothing. */
  private forgetFullBuckets(nowMs: number): void {
    const { requestsPerSecond, burst } = this.settings;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((nowMs - bucket.refilledAtMs) / 1000) * requestsPerSecond >= burst) {
        this.buckets.delete(key);
      }
    }
    // Every tracked key is mid-burst: forget the oldest rather than grow without bound.
    if (this.buckets.size >= MAX_TRACKED_KEYS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}
