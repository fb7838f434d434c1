import { nodeRuntime } from '../../helpers/runtimes';
import { defineContainerPolicyScenarios } from '../scenarios/container-policy';

defineContainerPolicyScenarios(nodeRuntime);
