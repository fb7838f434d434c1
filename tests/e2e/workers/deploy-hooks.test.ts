import { workersRuntime } from '../../helpers/workers-runtime';
import { defineDeployHookScenarios } from '../scenarios/deploy-hooks';

defineDeployHookScenarios(workersRuntime);
