/**
 * The wire protocol between the control plane and host agents, defined once and imported by
 * both sides. Every frame is one JSON text message `{ type, ... }`. Frames are parsed only at
 * the socket edge (`parseAgentFrame`, `parseControlFrame`); everything past it is typed.
 *
 * Link rules (see docs/agent-protocol.md):
 * - The agent opens the socket (outbound from the host) and sends `hello` first.
 * - Every command from the control plane has a `messageId` and is acknowledged with `ack`.
 * - Commands carry the task's `generation` (bumped on every desired-status change) so a late or
 *   duplicate command can be recognised and acknowledged without acting twice.
 * - Task reports carry a per-task `seq`; the control plane ignores a report older than the one
 *   it recorded.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
/** Larger frames are refused: a task with 10 containers is a few KiB, a snapshot of 1,000 tasks a few hundred. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** WebSocket close codes the control plane uses, so an agent can tell a bad frame from a bad token. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  frameTooLarge: 1009,
  /** Application codes (4000-4999). */
  unauthorized: 4001,
  clusterNotFound: 4004,
  replacedByNewConnection: 4009,
  deregistered: 4010,
  heartbeatTimeout: 4008,
  /** The connection sent more frames than its budget allows (see FRAME_BUDGET). */
  tooManyFrames: 4029,
  /** The join token registered too many instances in a short time; the agent retries later. */
  registrationRateLimited: 4030,
} as const;

/**
 * How much work one agent connection may cause: a token bucket of frames, refilled at
 * `perSecond` up to `burst`. A real agent sends a few frames a second (reports, pings) and a hello
 * snapshot; a connection that exceeds the bucket is closed with `tooManyFrames`, so one host can't
 * slow down the control plane for every other cluster.
 */
export const FRAME_BUDGET = { perSecond: 200, burst: 2_000 } as const;

/**
 * Host ports ECS reserves on every container instance (SSH, the Docker daemon, the ECS agent's
 * introspection and credentials endpoints). The agent's `--reserved-ports` replaces the list.
 */
export const DEFAULT_RESERVED_PORTS: readonly number[] = [22, 2375, 2376, 51678, 51679];

export const TASK_STATUSES = [
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
] as const;
export const taskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const CONTAINER_STATUSES = ['PENDING', 'RUNNING', 'STOPPED'] as const;
export const containerStatusSchema = z.enum(CONTAINER_STATUSES);
export type ContainerStatus = z.infer<typeof containerStatusSchema>;

export const STOP_CODES = [
  'TaskFailedToStart',
  'EssentialContainerExited',
  'UserInitiated',
  'ServiceSchedulerInitiated',
  'SpotInterruption',
  'TerminationNotice',
] as const;
export const stopCodeSchema = z.enum(STOP_CODES);
export type StopCode = z.infer<typeof stopCodeSchema>;

const nameValueSchema = z.object({ name: z.string(), value: z.string().optional() });

export const networkBindingSchema = z.object({
  bindIP: z.string(),
  containerPort: z.number().int(),
  hostPort: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
});
export type NetworkBinding = z.infer<typeof networkBindingSchema>;

/** What the agent needs to create one container: the container definition with overrides applied. */
export const containerSpecSchema = z.object({
  name: z.string(),
  image: z.string(),
  cpu: z.number().int().optional(),
  memoryMiB: z.number().int().optional(),
  memoryReservationMiB: z.number().int().optional(),
  essential: z.boolean(),
  entryPoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  environment: z.array(nameValueSchema),
  portMappings: z.array(
    z.object({
      containerPort: z.number().int(),
      hostPort: z.number().int().optional(),
      protocol: z.enum(['tcp', 'udp']),
    }),
  ),
  workingDirectory: z.string().optional(),
  user: z.string().optional(),
  hostname: z.string().optional(),
  stopTimeoutSeconds: z.number().int().optional(),
  dependsOn: z.array(
    z.object({ containerName: z.string(), condition: z.enum(['START', 'COMPLETE', 'SUCCESS', 'HEALTHY']) }),
  ),
  links: z.array(z.string()).optional(),
  dockerLabels: z.record(z.string(), z.string()).optional(),
});
export type ContainerSpec = z.infer<typeof containerSpecSchema>;

/** The control plane's view of a task an agent should have: written by the API and schedulers only. */
export const desiredTaskSchema = z.object({
  taskArn: z.string(),
  generation: z.number().int().nonnegative(),
  desiredStatus: z.enum(['RUNNING', 'STOPPED']),
  family: z.string(),
  revision: z.number().int(),
  networkMode: z.enum(['bridge', 'host', 'none']),
  containers: z.array(containerSpecSchema).min(1).max(10),
  /** Why the task is being stopped, when desiredStatus is STOPPED. */
  stoppedReason: z.string().optional(),
});
export type DesiredTask = z.infer<typeof desiredTaskSchema>;

export const observedContainerSchema = z.object({
  name: z.string(),
  runtimeId: z.string().optional(),
  lastStatus: containerStatusSchema,
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  networkBindings: z.array(networkBindingSchema).optional(),
});
export type ObservedContainer = z.infer<typeof observedContainerSchema>;

/** The agent's view of a task: the only source of lastStatus. */
export const observedTaskSchema = z.object({
  taskArn: z.string(),
  generation: z.number().int().nonnegative(),
  lastStatus: taskStatusSchema,
  containers: z.array(observedContainerSchema),
  stopCode: stopCodeSchema.optional(),
  stoppedReason: z.string().optional(),
  pullStartedAtMs: z.number().optional(),
  pullStoppedAtMs: z.number().optional(),
  startedAtMs: z.number().optional(),
  executionStoppedAtMs: z.number().optional(),
});
export type ObservedTask = z.infer<typeof observedTaskSchema>;

// ---- agent -> control plane ----

export const agentFrameSchema = z.discriminatedUnion('type', [
  /** First frame on every connection: who the agent is and everything it is running right now. */
  z.object({
    type: z.literal('hello'),
    protocolVersion: z.number().int(),
    agentVersion: z.string(),
    /**
     * The id the control plane gave this host, kept in the agent's state file. Informational: who the
     * agent is was proven by the credential it connected with; a join-token connection is always a new instance.
     */
    instanceId: z.string().optional(),
    hostname: z.string(),
    resources: z.object({ cpu: z.number().int().nonnegative(), memoryMiB: z.number().int().nonnegative() }),
    attributes: z.array(nameValueSchema),
    /** Host ports no task may be given; DEFAULT_RESERVED_PORTS when absent. */
    reservedPorts: z.array(z.number().int().min(1).max(65535)).max(1_000).optional(),
    dockerVersion: z.string(),
    tasks: z.array(observedTaskSchema),
  }),
  /** The agent received a command and has recorded it; carries the command's messageId. */
  z.object({ type: z.literal('ack'), messageId: z.string() }),
  /** A task changed; seq increases with every report the agent makes about that task. */
  z.object({ type: z.literal('taskState'), seq: z.number().int().nonnegative(), task: observedTaskSchema }),
  /** Heartbeat; the peer answers with pong. */
  z.object({ type: z.literal('ping'), sentAtMs: z.number() }),
  z.object({ type: z.literal('pong'), sentAtMs: z.number() }),
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;

// ---- control plane -> agent ----

export const controlFrameSchema = z.discriminatedUnion('type', [
  /** Answer to hello: the identity to keep and the full desired state for reconciliation. */
  z.object({
    type: z.literal('welcome'),
    containerInstanceArn: z.string(),
    instanceId: z.string(),
    heartbeatIntervalMs: z.number().int().positive(),
    desiredTasks: z.array(desiredTaskSchema),
    /**
     * Sent once, when a join token registered a new instance: the instance's own secret. The agent
     * keeps it in its state file and connects with it from then on; the control plane keeps only a hash.
     */
    instanceCredential: z.string().optional(),
  }),
  /** Start a task (or confirm it should keep running). */
  z.object({ type: z.literal('runTask'), messageId: z.string(), task: desiredTaskSchema }),
  /** Stop a task: SIGTERM, wait each container's stopTimeout, then SIGKILL. */
  z.object({
    type: z.literal('stopTask'),
    messageId: z.string(),
    taskArn: z.string(),
    generation: z.number().int().nonnegative(),
    reason: z.string(),
  }),
  z.object({ type: z.literal('ping'), sentAtMs: z.number() }),
  z.object({ type: z.literal('pong'), sentAtMs: z.number() }),
]);
export type ControlFrame = z.infer<typeof controlFrameSchema>;

export type FrameOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;

export class ProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function parseFrame<T>(schema: z.ZodType<T>, raw: string | ArrayBuffer | Uint8Array): T {
  if (typeof raw !== 'string') {
    throw new ProtocolError(CLOSE_CODES.unsupportedData, 'binary frames are not part of the protocol');
  }
  if (raw.length > MAX_FRAME_BYTES) {
    throw new ProtocolError(
      CLOSE_CODES.frameTooLarge,
      `frame of ${raw.length} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ProtocolError(CLOSE_CODES.protocolError, 'frame is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(frame)';
    throw new ProtocolError(CLOSE_CODES.protocolError, `invalid frame at ${path}: ${issue?.message}`);
  }
  return result.data;
}

export const parseAgentFrame = (raw: string | ArrayBuffer | Uint8Array): AgentFrame =>
  parseFrame(agentFrameSchema, raw);
export const parseControlFrame = (raw: string | ArrayBuffer | Uint8Array): ControlFrame =>
  parseFrame(controlFrameSchema, raw);

/** Rank of a task status in the one lifecycle order; a recorded status never moves to a lower rank. */
export function taskStatusRank(status: TaskStatus): number {
  return TASK_STATUSES.indexOf(status);
}

export function containerStatusRank(status: ContainerStatus): number {
  return CONTAINER_STATUSES.indexOf(status);
}

/** Container labels the agent puts on everything it creates, so a restarted agent can re-adopt them. */
export const CONTAINER_LABELS = {
  taskArn: 'com.berth.task-arn',
  containerName: 'com.berth.container-name',
  instanceId: 'com.berth.instance-id',
  generation: 'com.berth.generation',
  cluster: 'com.berth.cluster',
} as const;

/** Agent socket endpoint path on the control plane. */
export const AGENT_CONNECT_PATH = '/agent/v1/connect';
