import { nodeRuntime } from '../../helpers/runtimes';
import { defineDeployHookScenarios } from '../scenarios/deploy-hooks';

defineDeployHookScenarios(nodeRuntime);
