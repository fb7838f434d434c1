/**
 * The task definition shapes, as the ECS model has them (ecs-types.generated.ts): what
 * RegisterTaskDefinition takes is the model's request, and a registered revision is the model's
 * TaskDefinition with the members Berth always fills in made required. Members Berth stores but
 * does not act on are kept as registered, so a Describe returns what was registered.
 */
import type {
  ContainerDependency,
  TaskDefinition as EcsTaskDefinition,
  PortMapping,
  RegisterTaskDefinitionRequest,
} from '../../ecs-types.generated';

export type {
  ContainerDefinition,
  ContainerDependency,
  Device,
  KernelCapabilities,
  KeyValuePair,
  LinuxParameters,
  PortMapping,
  Volume,
} from '../../ecs-types.generated';

export type NetworkMode = NonNullable<RegisterTaskDefinitionRequest['networkMode']>;
export type TransportProtocol = NonNullable<PortMapping['protocol']>;
export type ContainerCondition = ContainerDependency['condition'];

/** The input of RegisterTaskDefinition, after the protocol layer checked it against the model. */
export type RegisterTaskDefinitionInput = RegisterTaskDefinitionRequest;

/** The task-level members a definition is read by; registered input and stored revisions both have them. */
export type TaskDefinitionFields = Omit<RegisterTaskDefinitionRequest, 'tags'>;

/** What is stored of a registered revision (task_definitions.body_json): the input with ECS's defaults. */
export type TaskDefinitionBody = TaskDefinitionFields &
  Required<Pick<EcsTaskDefinition, 'networkMode' | 'volumes' | 'placementConstraints' | 'compatibilities'>> &
  Pick<EcsTaskDefinition, 'requiresAttributes'>;

/** A registered revision as DescribeTaskDefinition returns it. */
export type TaskDefinition = EcsTaskDefinition &
  TaskDefinitionBody &
  Required<Pick<EcsTaskDefinition, 'taskDefinitionArn' | 'revision' | 'status'>> & {
    registeredAt: number;
    deregisteredAt?: number;
  };
