import { nodeRuntime } from '../../helpers/runtimes';
import { defineServiceExtensionScenarios } from '../scenarios/service-extensions';

defineServiceExtensionScenarios(nodeRuntime);
