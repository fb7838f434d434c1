import { nodeRuntime } from '../../helpers/runtimes';
import { defineAgentIdentityScenarios } from '../scenarios/agent-identity';

defineAgentIdentityScenarios(nodeRuntime);
