import { workersRuntime } from '../../helpers/workers-runtime';
import { defineAwsClientScenarios } from '../scenarios/aws-clients';

defineAwsClientScenarios(workersRuntime);
