import { nodeRuntime } from '../../helpers/runtimes';
import { defineServiceScenarios } from '../scenarios/services';

defineServiceScenarios(nodeRuntime);
