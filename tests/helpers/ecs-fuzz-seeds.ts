/**
 * One valid request for each action Berth serves, naming what the fuzz's setup created. The fuzz
 * mutates these (tests/helpers/ecs-body-arbitrary.ts, mutatedBodyArbitrary), so many of its bodies
 * get past validation into the domain code: a real RunTask with a null group, a StopTask of a real
 * task with a hostile reason, and so on.
 */
import { encodeToken } from '../../worker/core/pagination';
import type { FuzzNames } from './ecs-body-arbitrary';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keyed by action; an action Berth serves that is missing here is fuzzed with model-shaped bodies only. */
export function validRequests(names: FuzzNames): Partial<Record<string, Json[]>> {
  const { cluster, family } = names;
  const instance = names.containerInstanceArns[0];
  const tasks = names.taskArns;
  const tags = [{ key: 'team', value: 'fuzz' }];
  const overrides = {
    containerOverrides: [
      { name: 'web', environment: [{ name: 'MODE', value: 'fuzz' }], command: ['sleep', '1'] },
    ],
  };
  return {
    CreateCluster: [
      { clusterName: 'fuzz-created', tags, settings: [{ name: 'containerInsights', value: 'enabled' }] },
    ],
    DescribeClusters: [{ clusters: [cluster, 'fuzz-created'], include: ['TAGS', 'SETTINGS', 'STATISTICS'] }],
    ListClusters: [{ maxResults: 2, nextToken: encodeToken(1) }],
    DeleteCluster: [{ cluster: 'fuzz-created' }],
    RegisterTaskDefinition: [
      {
        family,
        cpu: '256',
        memory: '512',
        tags,
        containerDefinitions: [
          {
            name: 'web',
            image: 'berth-test/busybox:latest',
            memory: 32,
            cpu: 10,
            essential: true,
            command: ['sleep', '600'],
            environment: [{ name: 'MODE', value: 'fuzz' }],
            portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
            dockerLabels: { 'com.example.role': 'web' },
            ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 2048 }],
          },
        ],
      },
    ],
    DescribeTaskDefinition: [{ taskDefinition: family, include: ['TAGS'] }],
    ListTaskDefinitions: [{ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: 5 }],
    ListTaskDefinitionFamilies: [{ familyPrefix: 'fuzz', status: 'ALL', maxResults: 5 }],
    DeregisterTaskDefinition: [{ taskDefinition: `${family}:2` }],
    DeleteTaskDefinitions: [{ taskDefinitions: [`${family}:3`] }],
    RunTask: [
      {
        cluster,
        taskDefinition: family,
        count: 2,
        group: 'fuzz-group',
        startedBy: 'fuzz',
        clientToken: 'fuzz-token',
        overrides,
        placementStrategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }],
        placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }],
        tags,
        enableECSManagedTags: true,
        propagateTags: 'TASK_DEFINITION',
      },
    ],
    StartTask: [
      {
        cluster,
        taskDefinition: family,
        containerInstances: [instance],
        group: 'fuzz-group',
        startedBy: 'fuzz',
        overrides,
      },
    ],
    StopTask: [{ cluster, task: tasks[0], reason: 'stopped by the fuzz' }],
    DescribeTasks: [{ cluster, tasks, include: ['TAGS'] }],
    ListTasks: [
      {
        cluster,
        family,
        desiredStatus: 'RUNNING',
        containerInstance: instance,
        startedBy: 'fuzz',
        maxResults: 2,
      },
    ],
    DescribeContainerInstances: [{ cluster, containerInstances: [instance], include: ['TAGS'] }],
    ListContainerInstances: [
      { cluster, filter: 'attribute:ecs.os-type == linux', status: 'ACTIVE', maxResults: 5 },
    ],
    UpdateContainerInstancesState: [
      { cluster, containerInstances: [instance], status: 'DRAINING' },
      { cluster, containerInstances: [instance], status: 'ACTIVE' },
    ],
    DeregisterContainerInstance: [{ cluster, containerInstance: instance, force: false }],
    PutAttributes: [
      {
        cluster,
        attributes: [{ name: 'stack', value: 'prod', targetType: 'container-instance', targetId: instance }],
      },
    ],
    DeleteAttributes: [{ cluster, attributes: [{ name: 'stack', targetId: instance }] }],
    ListAttributes: [
      { cluster, targetType: 'container-instance', attributeName: 'stack', attributeValue: 'prod' },
    ],
  };
}
