import { nodeRuntime } from '../../helpers/runtimes';
import { defineTaskLifecycleScenarios } from '../scenarios/task-lifecycle';

defineTaskLifecycleScenarios(nodeRuntime);
