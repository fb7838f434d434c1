import { nodeRuntime } from '../../helpers/runtimes';
import { defineCapacityProviderScenarios } from '../scenarios/capacity-providers';

defineCapacityProviderScenarios(nodeRuntime);
