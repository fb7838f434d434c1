import { nodeRuntime } from '../../helpers/runtimes';
import { defineApiFuzzScenarios } from '../scenarios/api-fuzz';

defineApiFuzzScenarios(nodeRuntime);
