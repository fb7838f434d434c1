import { workersRuntime } from '../../helpers/workers-runtime';
import { defineAuthenticationScenarios } from '../scenarios/authentication';

defineAuthenticationScenarios(workersRuntime);
