import { workersRuntime } from '../../helpers/workers-runtime';
import { defineExecSessionScenarios } from '../scenarios/exec-session';

defineExecSessionScenarios(workersRuntime);
