/**
 * The ECS actions Berth serves, one line each: parse nothing (the protocol layer validated the
 * input against the model), call the domain, return its output shape.
 */

import {
  deleteAccountSetting,
  listAccountSettings,
  putAccountSetting,
  putAccountSettingDefault,
} from '../core/account-settings/account-settings';
import { createCapacityProvider } from '../core/capacity-providers/create';
import { deleteCapacityProvider } from '../core/capacity-providers/delete';
import { describeCapacityProviders } from '../core/capacity-providers/describe';
import { updateCapacityProvider } from '../core/capacity-providers/update';
import type { CommandInput, CommandName, CommandOutput } from '../core/cluster/commands';
import {
  clusterNameOf,
  createCluster,
  deleteCluster,
  describeClusters,
  listClusters,
} from '../core/clusters/clusters';
import { updateCluster, updateClusterSettings } from '../core/clusters/update-cluster';
import {
  describeContainerInstances,
  listAttributes,
  listContainerInstances,
} from '../core/container-instances/container-instances';
import type { CoreDeps } from '../core/deps';
import { EcsError } from '../core/errors';
import {
  describeServiceDeployments,
  describeServiceRevisions,
  listServiceDeployments,
} from '../core/services/service-deployments';
import { describeServices, listServices } from '../core/services/service-queries';
import {
  parseServiceDeploymentArn,
  serviceDeploymentNotFound,
} from '../core/services/stop-service-deployment';
import { listTagsForResource, tagResource, untagResource } from '../core/tagging/resource-tags';
import {
  deleteTaskDefinitions,
  deregisterTaskDefinition,
  describeTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  registerTaskDefinition,
} from '../core/task-definitions/task-definitions';
import { describeTasks, listTasks } from '../core/tasks/task-queries';
import type { EcsOperationName, EcsOperations } from '../ecs-types.generated';
import type { CoordinatorDirectory } from './coordinator-directory';

export interface ApiContext {
  deps: CoreDeps;
  coordinators: CoordinatorDirectory;
  /** The call being served: who signed it and the URL it reached (set by the ECS front door). */
  call?: { principal: string; baseUrl: string };
}

/**
 * A handler of action K: takes K's input shape, returns K's output shape, both from the ECS model
 * (ecs-types.generated.ts). The input has already been validated and cleaned by the front.
 */
export type ActionHandler<K extends EcsOperationName> = (
  input: EcsOperations[K]['input'],
  ctx: ApiContext,
) => Promise<EcsOperations[K]['output']>;

/** Only actions of the model may appear, each with its own shapes. */
export type ActionTable = { [K in EcsOperationName]?: ActionHandler<K> };

/** An action that is a write of one cluster: run as that cluster's command, in its room. */
function inRoom<K extends CommandName>(
  command: K,
): (input: CommandInput<K> & { cluster?: string }, ctx: ApiContext) => Promise<CommandOutput<K>> {
  return (input, { coordinators }) =>
    coordinators.forCluster(clusterNameOf(input.cluster)).execute(command, input);
}

export const ACTIONS: ActionTable = {
  CreateCluster: (input, { deps }) =>
    createCluster(deps, input).then(async (row) => ({
      cluster: (
        await describeClusters(deps, {
          clusters: [row.name],
          include: ['TAGS', 'SETTINGS', 'CONFIGURATIONS'],
        })
      ).clusters[0],
    })),
  DescribeClusters: (input, { deps }) => describeClusters(deps, input),
  ListClusters: (input, { deps }) => listClusters(deps, input),
  DeleteCluster: (input, { deps }) => deleteCluster(deps, input),
  UpdateCluster: (input, { deps }) => updateCluster(deps, input),
  UpdateClusterSettings: (input, { deps }) => updateClusterSettings(deps, input),

  RegisterTaskDefinition: (input, { deps }) => registerTaskDefinition(deps, input),
  DescribeTaskDefinition: (input, { deps }) => describeTaskDefinition(deps, input),
  ListTaskDefinitions: (input, { deps }) => listTaskDefinitions(deps, input),
  ListTaskDefinitionFamilies: (input, { deps }) => listTaskDefinitionFamilies(deps, input),
  DeregisterTaskDefinition: (input, { deps }) => deregisterTaskDefinition(deps, input),
  DeleteTaskDefinitions: (input, { deps }) => deleteTaskDefinitions(deps, input),

  RunTask: inRoom('runTask'),
  StopTask: inRoom('stopTask'),
  DescribeTasks: (input, { deps }) => describeTasks(deps, input),
  ListTasks: (input, { deps }) => listTasks(deps, input),

  StartTask: inRoom('startTask'),

  DescribeContainerInstances: (input, { deps }) => describeContainerInstances(deps, input),
  ListContainerInstances: (input, { deps }) => listContainerInstances(deps, input),
  UpdateContainerInstancesState: inRoom('updateContainerInstancesState'),
  DeregisterContainerInstance: inRoom('deregisterContainerInstance'),

  PutAttributes: inRoom('putAttributes'),
  DeleteAttributes: inRoom('deleteAttributes'),
  ListAttributes: (input, { deps }) => listAttributes(deps, input),

  CreateCapacityProvider: (input, { deps }) => createCapacityProvider(deps, input),
  DescribeCapacityProviders: (input, { deps }) => describeCapacityProviders(deps, input),
  UpdateCapacityProvider: (input, { deps }) => updateCapacityProvider(deps, input),
  DeleteCapacityProvider: (input, { deps }) => deleteCapacityProvider(deps, input),
  PutClusterCapacityProviders: inRoom('putClusterCapacityProviders'),

  CreateService: inRoom('createService'),
  UpdateService: inRoom('updateService'),
  DeleteService: inRoom('deleteService'),
  DescribeServices: (input, { deps }) => describeServices(deps, input),
  ListServices: (input, { deps }) => listServices(deps, input),
  ListServiceDeployments: (input, { deps }) => listServiceDeployments(deps, input),
  DescribeServiceDeployments: (input, { deps }) => describeServiceDeployments(deps, input),
  DescribeServiceRevisions: (input, { deps }) => describeServiceRevisions(deps, input),
  // The cluster is the ARN's; an ARN that names no cluster names no deployment.
  StopServiceDeployment: (input, { deps, coordinators }) => {
    const { clusterName } = parseServiceDeploymentArn(deps.config, input.serviceDeploymentArn);
    return coordinators
      .forCluster(clusterName)
      .execute('stopServiceDeployment', input)
      .catch((error: unknown) => {
        if (error instanceof EcsError && error.errorName === 'ClusterNotFoundException') {
          throw serviceDeploymentNotFound(input.serviceDeploymentArn);
        }
        throw error;
      });
  },

  ExecuteCommand: (input, { coordinators, call }) =>
    coordinators.forCluster(clusterNameOf(input.cluster)).execute('executeCommand', {
      ...input,
      principal: call?.principal ?? 'unknown',
      baseUrl: call?.baseUrl ?? 'http://127.0.0.1:8787',
    }),

  TagResource: (input, { deps }) => tagResource(deps, input),
  UntagResource: (input, { deps }) => untagResource(deps, input),
  ListTagsForResource: (input, { deps }) => listTagsForResource(deps, input),

  PutAccountSetting: (input, { deps }) => putAccountSetting(deps, input),
  PutAccountSettingDefault: (input, { deps }) => putAccountSettingDefault(deps, input),
  ListAccountSettings: (input, { deps }) => listAccountSettings(deps, input),
  DeleteAccountSetting: (input, { deps }) => deleteAccountSetting(deps, input),
};
