import { workersRuntime } from '../../helpers/workers-runtime';
import { defineAuditAndRevocationScenarios } from '../scenarios/audit-and-revocation';

defineAuditAndRevocationScenarios(workersRuntime);
