import { workersRuntime } from '../../helpers/workers-runtime';
import { defineApiLimitScenarios } from '../scenarios/api-limits';

defineApiLimitScenarios(workersRuntime);
