/**
 * Which resources TagResource, UntagResource and ListTagsForResource reach: one entry per ECS ARN
 * resource type, naming the table that holds the resource (keyed by its ARN), the column its tags
 * live in, and how ECS answers for an ARN of that type that names nothing. A resource added later
 * (services, capacity providers) becomes taggable with one entry here and a `tags_json` column.
 *
 * Tags are written straight to these tables, also for tasks and container instances, whose other
 * columns a cluster's room writes from the rows it caches: no room write ever sets `tags_json`
 * (saving a task writes its state columns, a batch of agent reports upserts only the reported
 * columns, and every container-instance write sets named columns), so a tag write can't be lost or
 * reverted by the room, and nothing the room returns from its cache carries tags.
 */
import { and, eq, ne, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import {
  capacityProviders,
  clusters,
  containerInstances,
  services,
  taskDefinitions,
  tasks,
} from '../../../db/schema';
import type { Tag } from '../../ecs-types.generated';
import { clientError, EcsError, invalidParameter } from '../errors';
import { serviceExtensionsOf } from '../services/service-extensions';

export interface TaggableResource {
  table: SQLiteTable;
  arn: SQLiteColumn;
  tagsJson: SQLiteColumn;
  /** Rows that still exist as far as tagging goes (a deleted cluster doesn't; a stopped task does). */
  exists?: SQL;
  /** A resource inside a cluster: its ARN's first path segment names the cluster, which must exist. */
  inCluster?: boolean;
  /** What ECS answers for an ARN of this type that names no resource. */
  notFound(): EcsError;
  /** Checks the tags a write would leave (a service's `berth:` settings); throws to refuse it. */
  checkTags?(tags: Tag[]): void;
}

export const TAGGABLE_RESOURCES: Readonly<Record<string, TaggableResource>> = {
  cluster: {
    table: clusters,
    arn: clusters.arn,
    tagsJson: clusters.tagsJson,
    exists: eq(clusters.status, 'ACTIVE'),
    notFound: () => new EcsError('ClusterNotFoundException', 'Cluster not found.'),
  },
  'task-definition': {
    table: taskDefinitions,
    arn: taskDefinitions.arn,
    tagsJson: taskDefinitions.tagsJson,
    exists: ne(taskDefinitions.status, 'DELETE_IN_PROGRESS'),
    notFound: () => clientError('Unable to describe task definition.'),
  },
  task: {
    table: tasks,
    arn: tasks.arn,
    tagsJson: tasks.tagsJson,
    inCluster: true,
    notFound: () => invalidParameter('resourceArn: The referenced task was not found.'),
  },
  'container-instance': {
    table: containerInstances,
    arn: containerInstances.arn,
    tagsJson: containerInstances.tagsJson,
    inCluster: true,
    notFound: () => invalidParameter('resourceArn: The referenced container instance was not found.'),
  },
  service: {
    table: services,
    arn: services.arn,
    tagsJson: services.tagsJson,
    exists: ne(services.status, 'INACTIVE'),
    inCluster: true,
    // TagResource and ListTagsForResource have no ServiceNotFoundException in the model.
    notFound: () => invalidParameter('resourceArn: The referenced service was not found.'),
    // Berth's deployment settings live in `berth:` tags: a bad one is refused, not stored.
    checkTags: (tags) => {
      serviceExtensionsOf(tags);
    },
  },
  'capacity-provider': {
    table: capacityProviders,
    arn: capacityProviders.arn,
    tagsJson: capacityProviders.tagsJson,
    exists: eq(capacityProviders.status, 'ACTIVE'),
    notFound: () =>
      clientError(
        'The specified capacity provider does not exist. Specify a valid name or ARN and try again.',
      ),
  },
};

/** The condition that selects the resource `arn` names, if it exists. */
export function resourceWhere(resource: TaggableResource, arn: string): SQL | undefined {
  return and(eq(resource.arn, arn), resource.exists);
}
