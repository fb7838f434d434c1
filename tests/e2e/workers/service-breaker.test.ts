import { workersRuntime } from '../../helpers/workers-runtime';
import { defineServiceBreakerScenarios } from '../scenarios/service-breaker';

defineServiceBreakerScenarios(workersRuntime);
