/**
 * Container instance state changes in the shape of EventBridge's "ECS Container Instance State
 * Change": `detail` is the instance as DescribeContainerInstances shows it (ISO times), plus its
 * cluster. Recorded when an instance registers, its agent connects or is marked disconnected, it
 * is drained or activated, and when it is deregistered: rows of the event table with their own
 * `kind`, written in the batch that makes the change, so the event stream and the event webhooks
 * carry them beside the task and service events.
 */
import { type ContainerInstanceRow, taskEvents } from '../../../db/schema';
import type { TaskAllocation } from '../cluster/cluster-view';
import { toEcsContainerInstance } from '../container-instances/container-instances';
import type { CoreDeps } from '../deps';

export const INSTANCE_EVENT_KIND = 'container-instance-state-change';

export function instanceEventInsert(
  deps: CoreDeps,
  row: ContainerInstanceRow,
  allocations: Map<string, TaskAllocation> = new Map(),
) {
  const time = new Date(deps.now()).toISOString();
  const described = toEcsContainerInstance(row, allocations, false);
  return deps.db.insert(taskEvents).values({
    clusterArn: row.clusterArn,
    taskArn: row.arn,
    taskVersion: row.version,
    createdAtMs: deps.now(),
    kind: INSTANCE_EVENT_KIND,
    eventJson: JSON.stringify({
      version: '0',
      id: deps.newId(),
      'detail-type': 'ECS Container Instance State Change',
      source: 'aws.ecs',
      account: deps.config.accountId,
      time,
      region: deps.config.region,
      resources: [row.arn],
      detail: {
        ...described,
        clusterArn: row.clusterArn,
        registeredAt: new Date(row.registeredAtMs).toISOString(),
        updatedAt: time,
      },
    }),
  });
}
