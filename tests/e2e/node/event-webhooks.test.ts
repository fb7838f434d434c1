import { nodeRuntime } from '../../helpers/runtimes';
import { defineEventWebhookScenarios } from '../scenarios/event-webhooks';

defineEventWebhookScenarios(nodeRuntime);
