/**
 * Fills a cluster's task-event table fast: one INSERT ... SELECT over a recursive counter writes
 * thousands of realistic "ECS Task State Change" rows in one statement (no per-row round trip, so
 * it is as quick over libSQL HTTP as on a local file). Event n carries `detail.version` n, so a
 * reader can check order and completeness from the data as well as from the SSE ids.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../worker/core/deps';

const TASK_ARN = 'arn:aws:ecs:us-east-1:000000000000:task/seeded/0123456789abcdef0123456789abcdef';

/** About 1.5 KB, the size of a one-container task's event as Berth writes it. */
function templateEvent(clusterArn: string) {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    version: '0',
    id: '0123456789abcdef0123456789abcdef',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '000000000000',
    time: at,
    region: 'us-east-1',
    resources: [TASK_ARN],
    detail: {
      taskArn: TASK_ARN,
      clusterArn,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/seeded-web:1',
      containerInstanceArn:
        'arn:aws:ecs:us-east-1:000000000000:container-instance/seeded/fedcba9876543210fedcba9876543210',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      launchType: 'EC2',
      cpu: '256',
      memory: '512',
      group: 'family:seeded-web',
      startedBy: 'seed',
      version: 0,
      createdAt: at,
      pullStartedAt: at,
      pullStoppedAt: at,
      startedAt: at,
      updatedAt: at,
      connectivity: 'CONNECTED',
      connectivityAt: at,
      availabilityZone: 'us-east-1a',
      overrides: { containerOverrides: [{ name: 'web' }] },
      attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
      containers: [
        {
          containerArn:
            'arn:aws:ecs:us-east-1:000000000000:container/seeded/0123456789abcdef0123456789abcdef/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
          taskArn: TASK_ARN,
          name: 'web',
          image: 'berth-test/busybox:latest',
          runtimeId: '9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0',
          lastStatus: 'RUNNING',
          networkBindings: [{ bindIP: '0.0.0.0', containerPort: 8080, hostPort: 32768, protocol: 'tcp' }],
          networkInterfaces: [],
          healthStatus: 'UNKNOWN',
          cpu: '256',
          memory: '512',
        },
      ],
    },
  };
}

/** Writes `count` events for `clusterArn` and returns the id of the last one. */
export async function seedTaskEvents(db: Db, clusterArn: string, count: number): Promise<number> {
  const template = JSON.stringify(templateEvent(clusterArn));
  await db.run(sql`
    WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < ${count})
    INSERT INTO task_events (cluster_arn, task_arn, task_version, created_at_ms, event_json)
    SELECT ${clusterArn}, ${TASK_ARN}, n, ${Date.now()}, json_set(${template}, '$.detail.version', n)
    FROM counter`);
  const [last] = await db.all<{ id: number }>(
    sql`SELECT max(id) AS id FROM task_events WHERE cluster_arn = ${clusterArn}`,
  );
  return last.id;
}
