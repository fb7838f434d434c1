import { workersRuntime } from '../../helpers/workers-runtime';
import { defineApiContractScenarios } from '../scenarios/api-contract';

defineApiContractScenarios(workersRuntime);
