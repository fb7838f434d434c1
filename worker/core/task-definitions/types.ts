/**
 * The task definition shapes Berth understands, named and typed as in the ECS API model
 * (../shared/reference/ecs-2014-11-13.service.json). Fields Berth stores but does not act on
 * are kept as opaque JSON so a Describe returns what was registered.
 */
export type NetworkMode = 'bridge' | 'host' | 'none' | 'awsvpc';
export type TransportProtocol = 'tcp' | 'udp';
export type ContainerCondition = 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY';

export interface KeyValuePair {
  name?: string;
  value?: string;
}

export interface PortMapping {
  containerPort?: number;
  hostPort?: number;
  protocol?: TransportProtocol;
  name?: string;
}

/** Kernel capabilities to add to or drop from Docker's default set (`CAP_` prefix omitted). */
export interface KernelCapabilities {
  add?: string[];
  drop?: string[];
}

export interface Device {
  hostPath?: string;
  containerPath?: string;
  permissions?: string[];
}

/** Only the members that reach into the host are typed; the rest is stored as registered. */
export interface LinuxParameters {
  capabilities?: KernelCapabilities;
  devices?: Device[];
  [opaque: string]: unknown;
}

/** A task volume; `host.sourcePath` bind-mounts a host path, `host: {}` alone is a Docker volume. */
export interface Volume {
  name?: string;
  host?: { sourcePath?: string };
  [opaque: string]: unknown;
}

export interface ContainerDependency {
  containerName: string;
  condition: ContainerCondition;
}

export interface ContainerDefinition {
  name?: string;
  image?: string;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  essential?: boolean;
  entryPoint?: string[];
  command?: string[];
  environment?: KeyValuePair[];
  portMappings?: PortMapping[];
  workingDirectory?: string;
  user?: string;
  stopTimeout?: number;
  startTimeout?: number;
  dependsOn?: ContainerDependency[];
  links?: string[];
  hostname?: string;
  dockerLabels?: Record<string, string>;
  privileged?: boolean;
  linuxParameters?: LinuxParameters;
  dockerSecurityOptions?: string[];
  [opaque: string]: unknown;
}

export interface PlacementConstraintInput {
  type?: 'memberOf' | 'distinctInstance';
  expression?: string;
}

/** The fields of a task definition Berth reads; others are stored and returned as registered. */
export interface TaskDefinitionFields {
  family: string;
  containerDefinitions: ContainerDefinition[];
  taskRoleArn?: string;
  executionRoleArn?: string;
  networkMode?: NetworkMode;
  volumes?: Volume[];
  placementConstraints?: PlacementConstraintInput[];
  requiresCompatibilities?: string[];
  cpu?: string;
  memory?: string;
  pidMode?: string;
  ipcMode?: string;
}

/** The input of RegisterTaskDefinition, after the protocol layer checked its types. */
export type RegisterTaskDefinitionInput = TaskDefinitionFields & {
  tags?: { key?: string; value?: string }[];
  [opaque: string]: unknown;
};

/** A registered revision as DescribeTaskDefinition returns it. */
export interface TaskDefinition extends TaskDefinitionFields {
  taskDefinitionArn: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  registeredAt: number;
  deregisteredAt?: number;
  compatibilities: string[];
  requiresAttributes?: { name: string }[];
}
