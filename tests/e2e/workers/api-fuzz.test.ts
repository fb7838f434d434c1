import { workersRuntime } from '../../helpers/workers-runtime';
import { defineApiFuzzScenarios } from '../scenarios/api-fuzz';

defineApiFuzzScenarios(workersRuntime);
