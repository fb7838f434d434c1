import { workersRuntime } from '../../helpers/workers-runtime';
import { defineContainerHealthScenarios } from '../scenarios/container-health';

defineContainerHealthScenarios(workersRuntime);
