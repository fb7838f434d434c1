/**
 * A service's events on the cluster's event stream, in EventBridge's shapes: "ECS Deployment State
 * Change" (SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED / _FAILED, with the deployment id and the
 * reason) and "ECS Service Action" (SERVICE_STEADY_STATE, SERVICE_TASK_START_IMPAIRED,
 * SERVICE_TASK_PLACEMENT_FAILURE, TASKS_STOPPED). They are rows of the task event table with their
 * own `kind`, so a stream carries them in order among the task state changes under their own SSE
 * event names, and task-event consumers see no change. Beyond ECS, `detail` names the cluster and
 * the service by ARN and by name (aws/containers-roadmap#1371).
 */
import { taskEvents } from '../../../db/schema';
import type { CoreDeps } from '../deps';

export type DeploymentEventName =
  | 'SERVICE_DEPLOYMENT_IN_PROGRESS'
  | 'SERVICE_DEPLOYMENT_COMPLETED'
  | 'SERVICE_DEPLOYMENT_FAILED';
export type ServiceActionName =
  | 'SERVICE_STEADY_STATE'
  | 'SERVICE_TASK_START_IMPAIRED'
  | 'SERVICE_TASK_PLACEMENT_FAILURE'
  | 'TASKS_STOPPED';

export const STREAM_KIND = {
  deployment: 'deployment-state-change',
  action: 'service-action',
} as const;

/** One event to record: which kind, and what `detail` carries beyond the service's identity. */
export interface ServiceStreamEvent {
  kind: (typeof STREAM_KIND)[keyof typeof STREAM_KIND];
  eventName: DeploymentEventName | ServiceActionName;
  eventType: 'INFO' | 'WARN' | 'ERROR';
  fields: Record<string, unknown>;
}

export const deploymentEvent = (
  eventName: DeploymentEventName,
  deploymentId: string,
  reason: string,
): ServiceStreamEvent => ({
  kind: STREAM_KIND.deployment,
  eventName,
  eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
  fields: { deploymentId, reason },
});

export const serviceAction = (
  eventName: ServiceActionName,
  fields: Record<string, unknown> = {},
): ServiceStreamEvent => ({
  kind: STREAM_KIND.action,
  eventName,
  eventType: eventName === 'SERVICE_STEADY_STATE' ? 'INFO' : 'WARN',
  fields,
});

export interface ServiceIdentity {
  arn: string;
  name: string;
  clusterArn: string;
}

/** The rows to insert, in the batch that makes the change they report; none for an empty list. */
export function serviceStreamEventRows(
  deps: CoreDeps,
  service: ServiceIdentity,
  events: readonly ServiceStreamEvent[],
) {
  const nowMs = deps.now();
  const time = new Date(nowMs).toISOString();
  return events.map((event) => ({
    clusterArn: service.clusterArn,
    taskArn: service.arn,
    taskVersion: 0,
    createdAtMs: nowMs,
    kind: event.kind,
    eventJson: JSON.stringify({
      version: '0',
      id: deps.newId(),
      'detail-type':
        event.kind === STREAM_KIND.deployment ? 'ECS Deployment State Change' : 'ECS Service Action',
      source: 'aws.ecs',
      account: deps.config.accountId,
      time,
      region: deps.config.region,
      resources: [service.arn],
      detail: {
        eventType: event.eventType,
        eventName: event.eventName,
        clusterArn: service.clusterArn,
        clusterName: service.clusterArn.slice(service.clusterArn.lastIndexOf('/') + 1),
        serviceArn: service.arn,
        serviceName: service.name,
        ...event.fields,
        [event.kind === STREAM_KIND.deployment ? 'updatedAt' : 'createdAt']: time,
      },
    }),
  }));
}

export function serviceStreamEventsInsert(
  deps: CoreDeps,
  service: ServiceIdentity,
  events: readonly ServiceStreamEvent[],
) {
  return deps.db.insert(taskEvents).values(serviceStreamEventRows(deps, service, events));
}
