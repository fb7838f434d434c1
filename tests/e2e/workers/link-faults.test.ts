import { workersRuntime } from '../../helpers/workers-runtime';
import { defineLinkFaultScenarios } from '../scenarios/link-faults';

defineLinkFaultScenarios(workersRuntime);
