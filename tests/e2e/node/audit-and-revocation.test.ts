import { nodeRuntime } from '../../helpers/runtimes';
import { defineAuditAndRevocationScenarios } from '../scenarios/audit-and-revocation';

defineAuditAndRevocationScenarios(nodeRuntime);
