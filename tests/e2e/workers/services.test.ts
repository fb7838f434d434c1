import { workersRuntime } from '../../helpers/workers-runtime';
import { defineServiceScenarios } from '../scenarios/services';

defineServiceScenarios(workersRuntime);
