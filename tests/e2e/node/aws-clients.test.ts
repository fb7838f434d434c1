import { nodeRuntime } from '../../helpers/runtimes';
import { defineAwsClientScenarios } from '../scenarios/aws-clients';

defineAwsClientScenarios(nodeRuntime);
