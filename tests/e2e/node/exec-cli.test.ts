import { nodeRuntime } from '../../helpers/runtimes';
import { defineExecCliScenarios } from '../scenarios/exec-cli';

defineExecCliScenarios(nodeRuntime);
