import { nodeRuntime } from '../../helpers/runtimes';
import { defineLinkFaultScenarios } from '../scenarios/link-faults';

defineLinkFaultScenarios(nodeRuntime);
