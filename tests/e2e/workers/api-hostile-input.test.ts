import { startWorkersRuntime } from '../../helpers/workers-runtime';
import { defineHostileInputScenarios } from '../scenarios/api-hostile-input';

defineHostileInputScenarios({
  name: 'workers',
  start(extraAllowedHost) {
    // BERTH_ALLOWED_HOSTS is a Worker var like the others; the helper passes every var through.
    const vars = { BERTH_REGION: 'us-east-1', BERTH_ALLOWED_HOSTS: `*.workers.dev,${extraAllowedHost}` };
    return startWorkersRuntime(vars);
  },
});
