import { workersEventStreamHarness } from '../../helpers/event-stream-planes';
import { defineTaskEventStreamScenarios } from '../scenarios/task-event-stream';

defineTaskEventStreamScenarios(workersEventStreamHarness);
