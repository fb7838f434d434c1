/**
 * ECS-form ARNs. Region and account come from configuration, so ARNs look like AWS's and
 * clients that parse them (the aws cli, SDK waiters, Terraform) keep working.
 */
export interface ArnScope {
  region: string;
  accountId: string;
}

const prefix = (scope: ArnScope) => `arn:aws:ecs:${scope.region}:${scope.accountId}`;

export const clusterArn = (scope: ArnScope, name: string) => `${prefix(scope)}:cluster/${name}`;
export const taskArn = (scope: ArnScope, cluster: string, id: string) =>
  `${prefix(scope)}:task/${cluster}/${id}`;
export const containerInstanceArn = (scope: ArnScope, cluster: string, id: string) =>
  `${prefix(scope)}:container-instance/${cluster}/${id}`;
export const containerArn = (scope: ArnScope, cluster: string, taskId: string, id: string) =>
  `${prefix(scope)}:container/${cluster}/${taskId}/${id}`;
export const taskDefinitionArn = (scope: ArnScope, family: string, revision: number) =>
  `${prefix(scope)}:task-definition/${family}:${revision}`;
export const capacityProviderArn = (scope: ArnScope, name: string) =>
  `${prefix(scope)}:capacity-provider/${name}`;

const ARN_PATTERN = /^arn:aws[a-z-]*:ecs:([^:]*):([^:]*):([a-z-]+)\/(.+)$/;

export interface ParsedEcsArn {
  region: string;
  accountId: string;
  resourceType: string;
  path: string[];
}

/** Splits an ECS ARN into its region, account, resource type and path segments, or returns undefined for a non-ARN. */
export function parseEcsArn(value: string): ParsedEcsArn | undefined {
  const match = ARN_PATTERN.exec(value);
  if (!match) return undefined;
  return { region: match[1], accountId: match[2], resourceType: match[3], path: match[4].split('/') };
}

/** The last path segment of an ARN, i.e. a task or container instance id; a bare id is returned as is. */
export function resourceIdOf(arnOrId: string): string {
  const parsed = parseEcsArn(arnOrId);
  return parsed ? parsed.path[parsed.path.length - 1] : arnOrId;
}

/**
 * The ARN a caller's reference names inside one cluster. A bare id becomes this cluster's ARN; an
 * ARN is kept exactly as given, so one that names another cluster, region, account or resource
 * type never matches anything here (rebuilding it from its last segment would let a reference to
 * cluster A resolve to an instance or task of cluster B).
 */
export function arnInCluster(
  scope: ArnScope,
  resourceType: 'task' | 'container-instance',
  clusterName: string,
  reference: string,
): string {
  if (parseEcsArn(reference)) return reference;
  return resourceType === 'task'
    ? taskArn(scope, clusterName, reference)
    : containerInstanceArn(scope, clusterName, reference);
}
