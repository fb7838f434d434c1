import { workersRuntime } from '../../helpers/workers-runtime';
import { defineDaemonServiceScenarios } from '../scenarios/services-daemon';

defineDaemonServiceScenarios(workersRuntime);
