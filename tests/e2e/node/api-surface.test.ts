import { nodeRuntime } from '../../helpers/runtimes';
import { defineApiSurfaceScenarios } from '../scenarios/api-surface';

defineApiSurfaceScenarios(nodeRuntime);
