/**
 * The frames, one discriminated union per direction, each member with who sends it and when.
 * Every frame is one JSON text message `{ type, ... }`, parsed only at the socket edge
 * (protocol/parsing.ts); everything past it is typed.
 *
 * Link rules (see docs/agent-protocol.md):
 * - The agent opens the socket (outbound from the host) and sends `hello` first.
 * - Every command from the control plane has a `messageId` and is answered with `ack` (recorded)
 *   or `nack` (not accepted, with a typed error).
 * - Commands carry the task's `generation` (bumped on every desired-status change) so a late or
 *   duplicate command can be recognised and acknowledged without acting twice.
 * - Task reports carry a per-task `seq`; the control plane ignores a report older than the one
 *   it recorded.
 */
import { z } from 'zod';
import { agentErrorSchema } from './errors';
import { agentStreamFrameSchemas, controlStreamFrameSchemas } from './streams';
import { desiredTaskSchema, nameValueSchema, observedTaskSchema } from './task-frames';

/**
 * Host ports ECS reserves on every container instance (SSH, the Docker daemon, the ECS agent's
 * introspection and credentials endpoints). The agent's `--reserved-ports` replaces the list.
 */
export const DEFAULT_RESERVED_PORTS: readonly number[] = [22, 2375, 2376, 51678, 51679];

/** Both directions: heartbeats. The agent's idle heartbeat is the fixed KEEPALIVE_PING (protocol/link.ts). */
const pingSchema = z.object({ type: z.literal('ping'), sentAtMs: z.number() });
/** The answer to a ping, echoing its `sentAtMs`. */
const pongSchema = z.object({ type: z.literal('pong'), sentAtMs: z.number() });

// ---- agent -> control plane ----

export const agentFrameSchema = z.discriminatedUnion('type', [
  /** Agent, first frame on every connection: who the agent is and everything it is running right now. */
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
  /** Agent, once a command is recorded in its state file: carries the command's messageId. */
  z.object({ type: z.literal('ack'), messageId: z.string() }),
  /**
   * Agent, instead of `ack`, when it cannot accept a command (it could not record it, or it is
   * stopping): the command's messageId and a typed error. The agent keeps no trace of the command;
   * whether to send it again is the control plane's call, guided by `error.retryable`.
   */
  z.object({ type: z.literal('nack'), messageId: z.string(), error: agentErrorSchema }),
  /** Agent, whenever a task's observed state changed; seq increases with every report about that task. */
  z.object({ type: z.literal('taskState'), seq: z.number().int().nonnegative(), task: observedTaskSchema }),
  pingSchema,
  pongSchema,
  /** Agent, on a stream the control plane opened (protocol/streams.ts): credit for stdin, and the end. */
  ...agentStreamFrameSchemas,
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;

// ---- control plane -> agent ----

export const controlFrameSchema = z.discriminatedUnion('type', [
  /** Control plane, answering hello: the identity to keep and the full desired state for reconciliation. */
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
  /** Control plane, when a task is placed on the instance: start it (or confirm it should keep running). */
  z.object({ type: z.literal('runTask'), messageId: z.string(), task: desiredTaskSchema }),
  /** Control plane, when a task should stop: SIGTERM, wait each container's stopTimeout, then SIGKILL. */
  z.object({
    type: z.literal('stopTask'),
    messageId: z.string(),
    taskArn: z.string(),
    generation: z.number().int().nonnegative(),
    reason: z.string(),
  }),
  pingSchema,
  pongSchema,
  /** Control plane: exec and logs streams over this socket (protocol/streams.ts). */
  ...controlStreamFrameSchemas,
]);
export type ControlFrame = z.infer<typeof controlFrameSchema>;

/** The member of a frame union with the given type. */
export type FrameOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;
