import { nodeRuntime } from '../../helpers/runtimes';
import { defineContainerHealthScenarios } from '../scenarios/container-health';

defineContainerHealthScenarios(nodeRuntime);
