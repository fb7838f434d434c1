import { workersRuntime } from '../../helpers/workers-runtime';
import { defineEventWebhookScenarios } from '../scenarios/event-webhooks';

defineEventWebhookScenarios(workersRuntime);
