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
