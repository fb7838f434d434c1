import { nodeRuntime } from '../../helpers/runtimes';
import { defineExecSessionScenarios } from '../scenarios/exec-session';

defineExecSessionScenarios(nodeRuntime);
