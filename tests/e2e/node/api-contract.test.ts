import { nodeRuntime } from '../../helpers/runtimes';
import { defineApiContractScenarios } from '../scenarios/api-contract';

defineApiContractScenarios(nodeRuntime);
