/** The Worker's configuration from its bindings, and where each cluster's Durable Object is created. */
import { describe, expect, it } from 'vitest';
import { locationHintFor } from '../../worker/hosts/workers/location-hint';
import { configFromVars } from '../../worker/hosts/workers/workers-deps';

describe('Worker bindings', () => {
  it('uses the same region and account defaults as the Node entry', () => {
    expect(configFromVars({ LIBSQL_URL: 'http://127.0.0.1:1' })).toEqual({
      region: 'us-east-1',
      accountId: '000000000000',
      agentDisconnectGraceMs: 30_000,
    });
  });

  it('takes the region, account and agent grace period from vars', () => {
    const config = configFromVars({
      LIBSQL_URL: 'http://127.0.0.1:1',
      BERTH_REGION: 'eu-west-1',
      BERTH_ACCOUNT_ID: '123456789012',
      BERTH_AGENT_GRACE_MS: '5000',
    });
    expect(config).toEqual({ region: 'eu-west-1', accountId: '123456789012', agentDisconnectGraceMs: 5_000 });
  });

  it('names the var that is wrong', () => {
    expect(() => configFromVars({ LIBSQL_URL: '', BERTH_ACCOUNT_ID: '42' })).toThrow(/BERTH_ACCOUNT_ID/);
    expect(() => configFromVars({ LIBSQL_URL: '', BERTH_REGION: 'mars' })).toThrow(/BERTH_REGION/);
    expect(() => configFromVars({ LIBSQL_URL: '', BERTH_AGENT_GRACE_MS: 'soon' })).toThrow(
      /BERTH_AGENT_GRACE_MS/,
    );
  });
});

describe('Durable Object location hints', () => {
  it.each([
    ['us-east-1', 'enam'],
    ['us-west-2', 'wnam'],
    ['ca-central-1', 'enam'],
    ['sa-east-1', 'sam'],
    ['eu-west-1', 'weur'],
    ['eu-central-1', 'eeur'],
    ['ap-northeast-1', 'apac'],
    ['ap-southeast-2', 'oc'],
    ['af-south-1', 'afr'],
    ['me-south-1', 'me'],
  ])('creates objects for %s near %s', (region, hint) => {
    expect(locationHintFor(region)).toBe(hint);
  });

  it('gives no hint for a region it does not know, leaving the choice to Cloudflare', () => {
    expect(locationHintFor('xx-nowhere-1')).toBeUndefined();
  });
});
