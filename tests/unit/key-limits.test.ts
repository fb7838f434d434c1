import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_LIMITS, KeyLimits, keyLimitSettings } from '../../worker/api/auth/key-limits';
import { parseBerthConfig } from '../../worker/config';

function limitsAt(settings: { requestsPerSecond: number; burst: number; streams: number }) {
  let nowMs = 1_000_000;
  const limits = new KeyLimits(settings, () => nowMs);
  return { limits, advance: (ms: number) => (nowMs += ms) };
}

describe('per-key request rate', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    const { limits, advance } = limitsAt({ requestsPerSecond: 10, burst: 5, streams: 0 });
    const taken = Array.from({ length: 8 }, () => limits.takeRequest('A'));
    expect(taken).toEqual([true, true, true, true, true, false, false, false]);
    // Another key has its own bucket.
    expect(limits.takeRequest('B')).toBe(true);
    advance(100); // 10/s refills one request in 100 ms
    expect(limits.takeRequest('A')).toBe(true);
    expect(limits.takeRequest('A')).toBe(false);
    advance(60_000); // never more than the burst, however long the key was quiet
    expect(Array.from({ length: 6 }, () => limits.takeRequest('A')).filter(Boolean)).toHaveLength(5);
  });

  it('is off at a rate of 0', () => {
    const { limits } = limitsAt({ requestsPerSecond: 0, burst: 1, streams: 0 });
    expect(Array.from({ length: 1_000 }, () => limits.takeRequest('A')).every(Boolean)).toBe(true);
  });

  it('tracks a bounded number of keys, however many call', () => {
    const { limits } = limitsAt({ requestsPerSecond: 1, burst: 2, streams: 0 });
    for (let i = 0; i < 25_000; i += 1) limits.takeRequest(`key-${i}`);
    const tracked = (limits as unknown as { buckets: Map<string, unknown> }).buckets.size;
    expect(tracked).toBeLessThanOrEqual(10_000);
  });
});

describe('per-key event streams', () => {
  it('caps open streams per key and frees a slot once, when a stream ends', () => {
    const { limits } = limitsAt({ requestsPerSecond: 0, burst: 1, streams: 2 });
    const first = limits.claimStream('A');
    const second = limits.claimStream('A');
    expect(first && second).toBeTruthy();
    expect(limits.claimStream('A')).toBeUndefined();
    expect(limits.claimStream('B')).toBeDefined();
    first?.();
    first?.(); // a second release of the same slot frees nothing more
    expect(limits.claimStream('A')).toBeDefined();
    expect(limits.claimStream('A')).toBeUndefined();
  });

  it('has no cap at 0', () => {
    const { limits } = limitsAt({ requestsPerSecond: 0, burst: 1, streams: 0 });
    for (let i = 0; i < 100; i += 1) expect(limits.claimStream('A')).toBeDefined();
  });
});

describe('the limits in the configuration', () => {
  it('reads them from the environment and refuses a bad value by name', () => {
    const config = parseBerthConfig({
      BERTH_API_RATE_PER_KEY: '0',
      BERTH_API_BURST_PER_KEY: '50',
      BERTH_EVENT_STREAMS_PER_KEY: '3',
    });
    expect(keyLimitSettings(config)).toEqual({ requestsPerSecond: 0, burst: 50, streams: 3 });
    expect(keyLimitSettings(parseBerthConfig({}))).toEqual(DEFAULT_KEY_LIMITS);
    expect(() => parseBerthConfig({ BERTH_API_RATE_PER_KEY: 'fast' })).toThrow(
      /^BERTH_API_RATE_PER_KEY: 'fast'/,
    );
    expect(() => parseBerthConfig({ BERTH_API_BURST_PER_KEY: '0' })).toThrow(/^BERTH_API_BURST_PER_KEY: /);
  });
});
