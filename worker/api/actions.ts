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
import type { CommandInput, CommandName } from '../core/cluster/commands';
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
import { listTagsForResource, tagResource, untagResource } from '../core/tagging/resource-tags';
import {
  deleteTaskDefinitions,
  deregisterTaskDefinition,
  describeTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  registerTaskDefinition,
} from '../core/task-definitions/task-definitions';
import type { RegisterTaskDefinitionInput } from '../core/task-definitions/types';
import { describeTasks, type ListTasksInput, listTasks } from '../core/tasks/task-queries';
import type { CoordinatorDirectory } from './coordinator-directory';

export interface ApiContext {
  deps: CoreDeps;
  coordinators: CoordinatorDirectory;
}

// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its already-validated input to its own shape
type ActionInput = any;
type ActionHandler = (input: ActionInput, ctx: ApiContext) => Promise<unknown>;

/** An action that is a write of one cluster: run as that cluster's command, in its room. */
function inRoom<K extends CommandName>(command: K): ActionHandler {
  return (input: CommandInput<K> & { cluster?: string }, { coordinators }) =>
    coordinators.forCluster(clusterNameOf(input.cluster)).execute(command, input);
}

export const ACTIONS: Record<string, ActionHandler> = {
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

  RegisterTaskDefinition: (input: RegisterTaskDefinitionInput, { deps }) =>
    registerTaskDefinition(deps, input),
  DescribeTaskDefinition: (input, { deps }) => describeTaskDefinition(deps, input),
  ListTaskDefinitions: (input, { deps }) => listTaskDefinitions(deps, input),
  ListTaskDefinitionFamilies: (input, { deps }) => listTaskDefinitionFamilies(deps, input),
  DeregisterTaskDefinition: (input, { deps }) => deregisterTaskDefinition(deps, input),
  DeleteTaskDefinitions: (input, { deps }) => deleteTaskDefinitions(deps, input),

  RunTask: inRoom('runTask'),
  StopTask: inRoom('stopTask'),
  DescribeTasks: (input, { deps }) => describeTasks(deps, input),
  ListTasks: (input: ListTasksInput, { deps }) => listTasks(deps, input),

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

  TagResource: (input, { deps }) => tagResource(deps, input),
  UntagResource: (input, { deps }) => untagResource(deps, input),
  ListTagsForResource: (input, { deps }) => listTagsForResource(deps, input),

  PutAccountSetting: (input, { deps }) => putAccountSetting(deps, input),
  PutAccountSettingDefault: (input, { deps }) => putAccountSettingDefault(deps, input),
  ListAccountSettings: (input, { deps }) => listAccountSettings(deps, input),
  DeleteAccountSetting: (input, { deps }) => deleteAccountSetting(deps, input),
};
