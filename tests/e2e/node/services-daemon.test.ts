import { nodeRuntime } from '../../helpers/runtimes';
import { defineDaemonServiceScenarios } from '../scenarios/services-daemon';

defineDaemonServiceScenarios(nodeRuntime);
