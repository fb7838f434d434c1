import { nodeRuntime } from '../../helpers/runtimes';
import { defineAuthenticationScenarios } from '../scenarios/authentication';

defineAuthenticationScenarios(nodeRuntime);
