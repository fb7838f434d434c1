import { workersRuntime } from '../../helpers/workers-runtime';
import { defineCapacityProviderScenarios } from '../scenarios/capacity-providers';

defineCapacityProviderScenarios(workersRuntime);
