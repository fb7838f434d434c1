import { workersRuntime } from '../../helpers/workers-runtime';
import { defineContainerPolicyScenarios } from '../scenarios/container-policy';

defineContainerPolicyScenarios(workersRuntime);
