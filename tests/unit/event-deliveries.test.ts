import { describe, expect, it } from 'vitest';
import { parseBerthConfig } from '../../worker/config';
import { retryDelayMs } from '../../worker/core/webhooks/event-deliveries';
import { validateSubscriptionUrl } from '../../worker/core/webhooks/subscriptions';

describe('event webhook deliveries', () => {
  it('back off exponentially from the first retry, capped at an hour', () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(5_000, attempts))).toEqual([
      5_000, 10_000, 20_000, 40_000,
    ]);
    expect(retryDelayMs(5_000, 20)).toBe(3_600_000);
    expect(retryDelayMs(5_000, 10_000)).toBe(3_600_000);
  });

  it('take their timings from the environment, refusing a bad value by name', () => {
    const config = parseBerthConfig({
      BERTH_EVENT_DELIVERY_RETRY_FOR_MS: '60000',
      BERTH_EVENT_DELIVERY_FIRST_RETRY_MS: '250',
      BERTH_EVENT_DELIVERY_TIMEOUT_MS: '3000',
    });
    expect(config).toMatchObject({
      eventDeliveryRetryForMs: 60_000,
      eventDeliveryFirstRetryMs: 250,
      eventDeliveryTimeoutMs: 3_000,
    });
    for (const name of ['BERTH_EVENT_DELIVERY_FIRST_RETRY_MS', 'BERTH_EVENT_DELIVERY_TIMEOUT_MS']) {
      for (const bad of ['0', '-1', '1.5', 'soon']) {
        expect(() => parseBerthConfig({ [name]: bad })).toThrow(new RegExp(`^${name}: `));
      }
    }
  });

  it('go only to http(s) URLs without credentials', () => {
    expect(validateSubscriptionUrl('https://hooks.example.com/berth?x=1')).toBe(
      'https://hooks.example.com/berth?x=1',
    );
    expect(validateSubscriptionUrl('http://10.0.0.5:9000/in')).toBe('http://10.0.0.5:9000/in');
    for (const bad of [
      'ftp://h/',
      'file:///etc/passwd',
      'data:text/plain,x',
      'ws://h/',
      '//h/x',
      'https://u:p@h/',
    ]) {
      expect(() => validateSubscriptionUrl(bad), bad).toThrow(/^url: /);
    }
  });
});
