import { workersRuntime } from '../../helpers/workers-runtime';
import { defineTaskLifecycleScenarios } from '../scenarios/task-lifecycle';

defineTaskLifecycleScenarios(workersRuntime);
