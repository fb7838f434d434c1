/**
 * What the scenario files of the API surface share: one runtime with a cluster, a task definition
 * and a hand-driven agent (tasks start on it without Docker), so every file runs on one start.
 */
import {
  type Cluster,
  CreateClusterCommand,
  DescribeClustersCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  type StartTaskCommandInput,
  type Tag,
  type Task,
} from '@aws-sdk/client-ecs';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

export const SURFACE_CLUSTER = 'surface';
export const SURFACE_FAMILY = 'surface-app';

export interface ApiSurface {
  runtime: RunningRuntime;
  ecs: ECSClient;
  /** Joined to SURFACE_CLUSTER; it receives runTask frames and never answers them unless told to. */
  agent: RawAgent;
  instanceArn: string;
  /** The instance's own credential, for reconnecting as it. */
  instanceCredential: string;
  /** StartTask of SURFACE_FAMILY on the agent's instance; the input's members override. */
  startTask(input?: Partial<StartTaskCommandInput>): Promise<Task>;
  /** Registers a one-container family (what SURFACE_FAMILY is) with these tags; its ARN. */
  registerFamily(family: string, tags?: Tag[]): Promise<string>;
  /** DescribeClusters of one cluster, with its settings and configuration. */
  describeCluster(name: string): Promise<Cluster>;
}

export async function startApiSurface(harness: RuntimeHarness): Promise<ApiSurface> {
  const runtime = await harness.start();
  const { ecs } = runtime;
  await ecs.send(new CreateClusterCommand({ clusterName: SURFACE_CLUSTER }));
  const registerFamily = async (family: string, tags?: Tag[]) =>
    (
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
          tags,
        }),
      )
    ).taskDefinition!.taskDefinitionArn!;
  await registerFamily(SURFACE_FAMILY);
  const agent = await connectRawAgent(
    runtime.endpoint,
    SURFACE_CLUSTER,
    await runtime.mintJoinToken(SURFACE_CLUSTER),
  );
  agent.send(helloFrame({ hostname: 'surface-host' }));
  const welcome = await agent.waitForFrame('welcome');
  return {
    runtime,
    ecs,
    agent,
    instanceArn: welcome.containerInstanceArn,
    instanceCredential: welcome.instanceCredential!,
    async startTask(input = {}) {
      const out = await ecs.send(
        new StartTaskCommand({
          cluster: SURFACE_CLUSTER,
          taskDefinition: SURFACE_FAMILY,
          containerInstances: [welcome.containerInstanceArn],
          ...input,
        }),
      );
      return out.tasks![0];
    },
    registerFamily,
    async describeCluster(name) {
      const out = await ecs.send(
        new DescribeClustersCommand({ clusters: [name], include: ['SETTINGS', 'CONFIGURATIONS'] }),
      );
      return out.clusters![0];
    },
  };
}
