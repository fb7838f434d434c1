import { errorMessage } from '../errors';
import type { ControlFrameHandler } from './types';

/**
 * The control plane accepted the hello: the link is up (reports may flow, heartbeats follow the
 * control plane's interval), then the tasks reconcile with the desired state. A failed
 * reconciliation is logged, not fatal: the next welcome tries again.
 */
export const onWelcome: ControlFrameHandler<'welcome'> = async (welcome, context) => {
  context.welcomed(welcome.heartbeatIntervalMs);
  context.log(`connected as instance ${welcome.instanceId} (${welcome.desiredTasks.length} desired tasks)`);
  await context.tasks.reconcile(welcome).catch((error: unknown) => {
    context.log(`reconciling the welcome failed: ${errorMessage(error)}`);
  });
};
