import { workersRuntime } from '../../helpers/workers-runtime';
import { defineApiSurfaceScenarios } from '../scenarios/api-surface';

defineApiSurfaceScenarios(workersRuntime);
