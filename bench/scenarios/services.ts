/**
 * services: a REPLICA service of 50 tasks to steady state, then a rolling update of all 50 to a new
 * revision, beside Docker Swarm on the same engine doing the same (`docker service create
 * --replicas 50`, `docker service update`). Both are measured the same way, from Docker itself:
 * the time from the call until exactly 50 containers of the service run the wanted revision and
 * none of the old one still runs. Target: Berth at most 0.5 x Swarm's time for both.
 *
 * Comparable settings: the same image and command (revisions differ only in a container label);
 * both start the new tasks first and stop the old ones once the new run (Berth: minimumHealthyPercent
 * 100, maximumPercent 200; Swarm: --update-order start-first, --update-parallelism 0, no delay, no
 * monitor window). Swarm counts a task as up once its container runs; Berth counts a task without a
 * health check as healthy 40 s after RUNNING, as ECS does, so the bench sets
 * BERTH_TASK_HEALTHY_AFTER_MS=0 to compare the schedulers rather than that ECS rule.
 *
 * A third line, Docker alone, is the floor any orchestrator on this engine stands on: the same
 * containers created, started and (for the update) replaced slot by slot, start-first, by plain
 * Docker API calls all at once, with nothing deciding anything. What Berth adds is its distance
 * from that line; what is left of the target after that is the engine's own cost.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import Docker from 'dockerode';
import { containerInstances } from '../../db/schema';
import { CONTAINER_LABELS } from '../../protocol';
import { spawnAgent } from '../../tests/helpers/agent-process';
import { createTestKey } from '../../tests/helpers/credentials';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startControlPlane } from '../../worker/hosts/node/control-plane';
import { LAUNCH_IMAGE } from '../launch-rig';
import { fmt, printTable, writeResult } from '../report';
import { UNLIMITED_KEYS } from '../unlimited-keys';

const REPLICAS = 50;
const CLUSTER = 'bench-services';
const SWARM_SERVICE = 'berth-bench-swarm';
const SAMPLE_EVERY_MS = 100;
const PHASE_TIMEOUT_MS = 5 * 60_000;
/**
 * The same command for both: a process that exits on SIGTERM (a plain `sleep` as PID 1 ignores it,
 * and both would then wait out their stop grace period, measuring timeouts, not schedulers).
 */
const COMMAND = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];
/** Revisions differ only in a container label, which Docker's container list shows. */
const REVISION_LABEL = 'com.berth.bench.revision';

type Counter = () => Promise<{ wanted: number; other: number }>;

/** Polls Docker until exactly REPLICAS containers run the wanted command and no other does. */
async function timeUntilConverged(start: () => Promise<void>, count: Counter): Promise<number> {
  const t0 = performance.now();
  await start();
  for (;;) {
    const { wanted, other } = await count();
    if (wanted === REPLICAS && other === 0) return performance.now() - t0;
    if (performance.now() - t0 > PHASE_TIMEOUT_MS) {
      throw new Error(`did not converge in ${PHASE_TIMEOUT_MS} ms (wanted ${wanted}, other ${other})`);
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
  }
}

function counterFor(docker: Docker, label: string, value: string, revision: () => number): Counter {
  return async () => {
    const running = await docker.listContainers({
      filters: { label: [`${label}=${value}`], status: ['running'] },
    });
    const matching = running.filter((c) => c.Labels[REVISION_LABEL] === String(revision())).length;
    return { wanted: matching, other: running.length - matching };
  };
}

async function measureBerth(docker: Docker) {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-services-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    config: { taskHealthyAfterMs: 0, ...UNLIMITED_KEYS },
  });
  const ecs = new ECSClient({
    endpoint: plane.url,
    region: 'us-east-1',
    credentials: await createTestKey(plane.deps, plane.serverKey, 'admin', 'bench'),
  });
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  const agent = spawnAgent({
    endpoint: plane.url,
    cluster: CLUSTER,
    joinToken: await mintJoinToken(plane.deps, CLUSTER),
    cpu: 1_000_000,
    memoryMiB: 1_000_000,
  });
  let revision = 1;
  const register = async (r: number) =>
    ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'bench-web',
        containerDefinitions: [
          {
            name: 'web',
            image: LAUNCH_IMAGE,
            memory: 8,
            command: COMMAND,
            dockerLabels: { [REVISION_LABEL]: String(r) },
          },
        ],
      }),
    );
  await register(1);
  await register(2);
  const count = counterFor(docker, CONTAINER_LABELS.cluster, CLUSTER, () => revision);
  try {
    // The agent must have registered before CreateService can place anything.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const instances = await plane.deps.db.select().from(containerInstances);
      if (instances.some((i) => i.agentConnected)) break;
      if (Date.now() > deadline) throw new Error('the bench agent did not register');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const createMs = await timeUntilConverged(async () => {
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: 'web',
          taskDefinition: 'bench-web:1',
          desiredCount: REPLICAS,
          deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
        }),
      );
    }, count);
    revision = 2;
    const updateMs = await timeUntilConverged(async () => {
      await ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', taskDefinition: 'bench-web:2' }),
      );
    }, count);
    return { createMs, updateMs };
  } finally {
    await ecs
      .send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'web', force: true }))
      .catch(() => {});
    await agent.kill();
    ecs.destroy();
    await plane.close();
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.cluster}=${CLUSTER}`] },
    });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  }
}

/** The same containers with no orchestrator: create and start all, then replace each start-first. */
async function measureDockerAlone(docker: Docker) {
  const label = 'com.berth.bench.docker-alone';
  const run = randomBytes(4).toString('hex');
  let revision = 1;
  const count = counterFor(docker, label, run, () => revision);
  const startOne = async (r: number, slot: number) => {
    const container = await docker.createContainer({
      name: `berth-bench-alone-${run}-${r}-${slot}`,
      Image: LAUNCH_IMAGE,
      Cmd: COMMAND,
      Labels: { [label]: run, [REVISION_LABEL]: String(r) },
    });
    await container.start();
    return container;
  };
  const slots = Array.from({ length: REPLICAS }, (_, slot) => slot);
  try {
    // The calls are not awaited inside the timing: like the CLI and the ECS API, the call returns
    // before the work is done, and Docker itself says when it is.
    let created: Promise<Docker.Container[]> | undefined;
    const createMs = await timeUntilConverged(async () => {
      created = Promise.all(slots.map((slot) => startOne(1, slot)));
    }, count);
    const old = await created!;
    revision = 2;
    let replaced: Promise<unknown> | undefined;
    const updateMs = await timeUntilConverged(async () => {
      replaced = Promise.all(
        slots.map(async (slot) => {
          await startOne(2, slot);
          await old[slot]!.stop({ t: 30 });
        }),
      );
    }, count);
    await replaced;
    return { createMs, updateMs };
  } finally {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${label}=${run}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  }
}

const dockerCli = (...args: string[]) => execFileSync('docker', args, { stdio: 'pipe' }).toString().trim();

async function measureSwarm(docker: Docker) {
  const swarmWasActive = dockerCli('info', '--format', '{{.Swarm.LocalNodeState}}') === 'active';
  if (!swarmWasActive) dockerCli('swarm', 'init', '--advertise-addr', '127.0.0.1');
  let revision = 1;
  const count = counterFor(docker, 'com.docker.swarm.service.name', SWARM_SERVICE, () => revision);
  try {
    const createMs = await timeUntilConverged(async () => {
      dockerCli(
        'service',
        'create',
        '--detach',
        '--name',
        SWARM_SERVICE,
        '--replicas',
        String(REPLICAS),
        '--no-resolve-image',
        '--update-order',
        'start-first',
        '--update-parallelism',
        '0',
        '--update-delay',
        '0s',
        '--update-monitor',
        '0s',
        '--container-label',
        `${REVISION_LABEL}=1`,
        LAUNCH_IMAGE,
        ...COMMAND,
      );
    }, count);
    revision = 2;
    const updateMs = await timeUntilConverged(async () => {
      dockerCli(
        'service',
        'update',
        '--detach',
        '--container-label-add',
        `${REVISION_LABEL}=2`,
        SWARM_SERVICE,
      );
    }, count);
    return { createMs, updateMs };
  } finally {
    try {
      dockerCli('service', 'rm', SWARM_SERVICE);
    } catch {}
    // Leave the engine as it was found: a swarm this bench started would outlive it.
    if (!swarmWasActive) dockerCli('swarm', 'leave', '--force');
    // Leaving can strand a task container the swarm had not yet removed (seen in the Created state).
    const stranded = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.swarm.service.name=${SWARM_SERVICE}`] },
    });
    await Promise.all(
      stranded.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  }
}

export async function runServicesBenchmark() {
  const docker = new Docker();
  const berth = await measureBerth(docker);
  const swarm = await measureSwarm(docker);
  const alone = await measureDockerAlone(docker);
  const createRatio = berth.createMs / swarm.createMs;
  const updateRatio = berth.updateMs / swarm.updateMs;
  const verdict = (ratio: number) => (ratio <= 0.5 ? 'target met' : 'target NOT met');
  printTable(`services: ${REPLICAS} tasks to steady state, then a rolling update of all ${REPLICAS}`, [
    {
      metric: 'create -> 50 running',
      value: `${fmt(berth.createMs / 1000)} s`,
      reference: `Swarm ${fmt(swarm.createMs / 1000)} s`,
      note: `ratio ${fmt(createRatio, 2)} (target <= 0.5, ${verdict(createRatio)})`,
    },
    {
      metric: 'rolling update -> 50 new',
      value: `${fmt(berth.updateMs / 1000)} s`,
      reference: `Swarm ${fmt(swarm.updateMs / 1000)} s`,
      note: `ratio ${fmt(updateRatio, 2)} (target <= 0.5, ${verdict(updateRatio)})`,
    },
    {
      metric: 'Docker alone: create / update',
      value: `${fmt(alone.createMs / 1000)} s / ${fmt(alone.updateMs / 1000)} s`,
      reference: `Swarm ${fmt(swarm.createMs / 1000)} s / ${fmt(swarm.updateMs / 1000)} s`,
      note: `ratios ${fmt(alone.createMs / swarm.createMs, 2)} / ${fmt(alone.updateMs / swarm.updateMs, 2)}: the engine's floor, no orchestrator`,
    },
  ]);
  return writeResult('services', {
    replicas: REPLICAS,
    berth,
    swarm,
    dockerAlone: alone,
    createRatio,
    updateRatio,
  });
}
