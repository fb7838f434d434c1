import { nodeRuntime } from '../../helpers/runtimes';
import { defineServiceBreakerScenarios } from '../scenarios/service-breaker';

defineServiceBreakerScenarios(nodeRuntime);
