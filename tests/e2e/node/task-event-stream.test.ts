import { nodeEventStreamHarness } from '../../helpers/event-stream-planes';
import { defineTaskEventStreamScenarios } from '../scenarios/task-event-stream';

defineTaskEventStreamScenarios(nodeEventStreamHarness);
