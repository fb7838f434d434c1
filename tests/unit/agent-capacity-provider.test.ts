import { describe, expect, it } from 'vitest';
import { hostAttributes } from '../../agent/host-facts';
import { parseAgentOptions } from '../../agent/options';
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../protocol/attributes';

const REQUIRED = ['--endpoint', 'http://cp:8787', '--cluster', 'prod', '--join-token', 'secret'];

describe("the agent's capacity provider", () => {
  it('is read from --capacity-provider, then from BERTH_AGENT_CAPACITY_PROVIDER', () => {
    expect(parseAgentOptions([...REQUIRED, '--capacity-provider', 'spot'], {}).capacityProvider).toBe('spot');
    expect(parseAgentOptions(REQUIRED, { BERTH_AGENT_CAPACITY_PROVIDER: 'on-demand' }).capacityProvider).toBe(
      'on-demand',
    );
    expect(
      parseAgentOptions([...REQUIRED, '--capacity-provider=spot'], {
        BERTH_AGENT_CAPACITY_PROVIDER: 'on-demand',
      }).capacityProvider,
    ).toBe('spot');
    expect(
      parseAgentOptions(REQUIRED, { BERTH_AGENT_CAPACITY_PROVIDER: '' }).capacityProvider,
    ).toBeUndefined();
  });

  it('must be a name a capacity provider can have', () => {
    expect(() => parseAgentOptions([...REQUIRED, '--capacity-provider', 'spot pool'], {})).toThrow(
      /--capacity-provider must be a capacity provider name .* got 'spot pool'/,
    );
  });

  it('joins the host to its pool through the berth.capacity-provider attribute, over an --attribute of that name', () => {
    const attributes = hostAttributes(
      '27.0.0',
      [{ name: CAPACITY_PROVIDER_ATTRIBUTE, value: 'stale' }],
      'spot',
    );
    expect(attributes.filter((a) => a.name === CAPACITY_PROVIDER_ATTRIBUTE)).toEqual([
      { name: CAPACITY_PROVIDER_ATTRIBUTE, value: 'spot' },
    ]);
    expect(hostAttributes('27.0.0', []).some((a) => a.name === CAPACITY_PROVIDER_ATTRIBUTE)).toBe(false);
  });
});
