import { workersRuntime } from '../../helpers/workers-runtime';
import { defineExecCliScenarios } from '../scenarios/exec-cli';

defineExecCliScenarios(workersRuntime);
