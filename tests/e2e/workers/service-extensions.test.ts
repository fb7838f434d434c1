import { workersRuntime } from '../../helpers/workers-runtime';
import { defineServiceExtensionScenarios } from '../scenarios/service-extensions';

defineServiceExtensionScenarios(workersRuntime);
