import { workersRuntime } from '../../helpers/workers-runtime';
import { defineAgentIdentityScenarios } from '../scenarios/agent-identity';

defineAgentIdentityScenarios(workersRuntime);
