import { nodeRuntime } from '../../helpers/runtimes';
import { defineApiLimitScenarios } from '../scenarios/api-limits';

defineApiLimitScenarios(nodeRuntime);
