import { mintJoinToken } from '../../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane } from '../../helpers/control-plane';
import { defineHostileInputScenarios } from '../scenarios/api-hostile-input';

defineHostileInputScenarios({
  name: 'node',
  async start(extraAllowedHost) {
    const test = await startTestControlPlane({ config: { allowedHosts: [extraAllowedHost] } });
    return {
      endpoint: test.plane.url,
      ecs: test.ecs,
      credentials: test.credentials,
      mintJoinToken: (cluster) => mintJoinToken(test.plane.deps, cluster),
      deps: test.plane.deps,
      close: test.close,
    };
  },
});
