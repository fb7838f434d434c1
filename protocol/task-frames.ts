/**
 * What frames say about tasks: the control plane's desired task (with its containers' specs) and
 * the agent's observed task. `generation` fences commands, and only the agent writes what is observed.
 */
import { z } from 'zod';
import { containerStatusSchema, stopCodeSchema, taskStatusSchema } from './statuses';

export const nameValueSchema = z.object({ name: z.string(), value: z.string().optional() });

export const networkBindingSchema = z.object({
  bindIP: z.string(),
  containerPort: z.number().int(),
  hostPort: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
});
export type NetworkBinding = z.infer<typeof networkBindingSchema>;

/**
 * A container's health check with ECS's defaults filled in (the control plane validated the ranges);
 * times in seconds, as ECS has them. The agent hands it to Docker as an explicit HealthConfig.
 */
export const healthCheckSpecSchema = z.object({
  /** `["CMD", executable, ...args]` or `["CMD-SHELL", command]`. */
  command: z.array(z.string()).min(2),
  intervalSeconds: z.number().int().positive(),
  timeoutSeconds: z.number().int().positive(),
  retries: z.number().int().positive(),
  /** Unset: no start period (ECS's default). */
  startPeriodSeconds: z.number().int().nonnegative().optional(),
});
export type HealthCheckSpec = z.infer<typeof healthCheckSpecSchema>;

/** A container's health as ECS reports it: UNKNOWN while not yet evaluated (or without a check). */
export const healthStatusSchema = z.enum(['HEALTHY', 'UNHEALTHY', 'UNKNOWN']);
export type HealthStatus = z.infer<typeof healthStatusSchema>;

/**
 * Host access the cluster's container policy allowed, in Docker's terms. A bind mount's source is
 * as the task definition wrote it: the agent resolves its symlinks on the host and refuses the task
 * unless the real path lies under `allowedHostPaths` (or is Docker's socket with `dockerSocket`).
 */
export const hostAccessSpecSchema = z.object({
  privileged: z.boolean().optional(),
  pidMode: z.literal('host').optional(),
  ipcMode: z.literal('host').optional(),
  capAdd: z.array(z.string()).optional(),
  devices: z
    .array(
      z.object({
        hostPath: z.string(),
        containerPath: z.string().optional(),
        permissions: z.array(z.enum(['read', 'write', 'mknod'])).optional(),
      }),
    )
    .optional(),
  mounts: z
    .array(z.object({ sourcePath: z.string(), containerPath: z.string(), readOnly: z.boolean() }))
    .optional(),
  /** The cluster's allowlist when the task launched, normalized by the control plane. */
  allowedHostPaths: z.array(z.string()).optional(),
  /** The policy allows mounting Docker's socket. */
  dockerSocket: z.boolean().optional(),
});
export type HostAccessSpec = z.infer<typeof hostAccessSpecSchema>;

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
  healthCheck: healthCheckSpecSchema.optional(),
  /** What the cluster's container policy allowed the container to take from its host (all absent: nothing). */
  hostAccess: hostAccessSpecSchema.optional(),
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
  /** Only for a container whose spec has a health check: Docker's verdict (UNKNOWN while starting). */
  healthStatus: healthStatusSchema.optional(),
  /**
   * The image the container runs, as `sha256:…`: the registry's digest when the image came from one
   * (Docker's RepoDigests), else the local image id. Optional: older agents don't send it.
   */
  imageDigest: z.string().max(256).optional(),
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
