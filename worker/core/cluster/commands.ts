/**
 * Every write a cluster's room runs, in one typed table. Adding a write costs one command file
 * beside its resource and one line here; the Node host and the Durable Object expose this table
 * through one `execute(command, input)`, so the RPC surface never grows.
 */

import { putClusterCapacityProviders } from '../capacity-providers/put-cluster-capacity-providers';
import { putContainerPolicy } from '../clusters/put-container-policy';
import { AGENT_GRACE, agentGraceExpired } from '../container-instances/agent-grace';
import { deleteAttributes, putAttributes } from '../container-instances/attributes';
import { deregisterContainerInstance } from '../container-instances/deregister';
import { revokeInstanceCredential } from '../container-instances/revoke-credential';
import { updateContainerInstancesState } from '../container-instances/update-state';
import { executeCommand } from '../exec/execute-command';
import { HOOK_DEPLOY, hookDeployDue, queueHookDeploy } from '../hooks/hook-deploy';
import { createService } from '../services/create-service';
import { deleteService } from '../services/delete-service';
import { SERVICE_PURGE, servicePurgeDue } from '../services/purge-service';
import { reconcileAllServices, SERVICE_STEP, serviceStepDue } from '../services/reconcile';
import {
  pauseServiceDeployment,
  resumeServiceDeployment,
  rollbackService,
  startService,
  stopService,
} from '../services/service-controls';
import { stopServiceDeployment } from '../services/stop-service-deployment';
import { updateService } from '../services/update-service';
import { runTask } from '../tasks/run-task';
import { startTask } from '../tasks/start-task';
import { stopTask } from '../tasks/stop-task';
import { EVENT_DELIVERY } from '../webhooks/event-deliveries';
import type { CommandContext } from './command-context';

export const CLUSTER_COMMANDS = {
  runTask,
  startTask,
  stopTask,
  updateContainerInstancesState: thenReconcileServices(updateContainerInstancesState),
  deregisterContainerInstance: thenReconcileServices(deregisterContainerInstance),
  revokeInstanceCredential: thenReconcileServices(revokeInstanceCredential),
  putAttributes: thenReconcileServices(putAttributes),
  deleteAttributes: thenReconcileServices(deleteAttributes),
  putClusterCapacityProviders,
  createService,
  updateService,
  deleteService,
  pauseServiceDeployment,
  resumeServiceDeployment,
  rollbackService,
  stopService,
  startService,
  stopServiceDeployment,
  putContainerPolicy,
  queueHookDeploy,
  executeCommand,
} as const;

export type CommandName = keyof typeof CLUSTER_COMMANDS;
export type CommandInput<K extends CommandName> = Parameters<(typeof CLUSTER_COMMANDS)[K]>[1];
export type CommandOutput<K extends CommandName> = Awaited<ReturnType<(typeof CLUSTER_COMMANDS)[K]>>;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(CLUSTER_COMMANDS, name);
}

/** What the room runs when a named deadline of each kind comes due (see deadlines.ts); the key names the subject. */
export const DEADLINE_HANDLERS: Record<string, (ctx: CommandContext, key: string) => Promise<void>> = {
  [AGENT_GRACE]: async (ctx, key) => {
    await agentGraceExpired(ctx, key);
    await reconcileAllServices(ctx);
  },
  [SERVICE_STEP]: serviceStepDue,
  [SERVICE_PURGE]: servicePurgeDue,
  [HOOK_DEPLOY]: hookDeployDue,
  // A retry of an event webhook is due: the room's "events recorded" hook sends whatever is due.
  [EVENT_DELIVERY]: async (ctx) => ctx.eventsWritten(),
};

/** A command that changes instances (state, attributes, membership): then every service may have work. */
function thenReconcileServices<I, O>(command: (ctx: CommandContext, input: I) => Promise<O>) {
  return async (ctx: CommandContext, input: I): Promise<O> => {
    const output = await command(ctx, input);
    await reconcileAllServices(ctx);
    return output;
  };
}
