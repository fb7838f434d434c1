/**
 * Deploy hooks end to end, on every runtime: a real registry (Debian's docker-registry) holding two
 * tags of the test image, a real agent and Docker, and deliveries signed as GitHub and Standard
 * Webhooks sign them (@octokit/webhooks-methods, standardwebhooks). The rollout is checked in
 * Docker; the refusals, the dedupe, the coalescing and the rotation are checked on a service
 * scaled to 0, where a deployment is a row and needs no container.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { signedFetch } from '../../helpers/credentials';
import { docker, TEST_IMAGE } from '../../helpers/docker';
import { lookAtCluster, removeClusterContainers } from '../../helpers/docker-sampler';
import { type LocalRegistry, startLocalRegistry } from '../../helpers/local-registry';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

// Long enough that five concurrent deliveries land in one window even on a loaded CI machine.
const DEBOUNCE_MS = 1_000;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };

interface CreatedHook {
  id: string;
  url: string;
  secret?: string;
}

interface Delivery {
  id: string;
  outcome: string;
  statusCode: number;
  reason?: string;
  deploymentId?: string;
  image?: string;
}

export function defineDeployHookScenarios(harness: RuntimeHarness) {
  describe(`deploy hooks on the ${harness.name} runtime`, () => {
    const cluster = `hooks-${harness.name}-${Math.random().toString(36).slice(2, 7)}`;
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let registry: LocalRegistry;
    let agent: AgentProcess | undefined;
    const digests: Record<string, string> = {};
    let v2ImageId = '';

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await signedFetch(
        `${runtime.endpoint}${path}`,
        {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
        runtime.credentials,
      );
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const createHook = async (input: Record<string, unknown>): Promise<CreatedHook> => {
      const out = await api('POST', '/berth/v1/hooks', { cluster, ...input });
      expect(out.status, JSON.stringify(out.body)).toBe(200);
      return out.body as unknown as CreatedHook;
    };
    const deliveries = async (hook: CreatedHook): Promise<Delivery[]> =>
      (await api('GET', `/berth/v1/hooks/${hook.id}/deliveries`)).body.deliveries as Delivery[];
    const deploymentsOf = async (service: string) =>
      (await ecs.send(new ListServiceDeploymentsCommand({ cluster, service }))).serviceDeployments ?? [];
    const registryPackage = (tag: string, digest?: string) =>
      JSON.stringify({
        action: 'published',
        registry_package: {
          name: 'app',
          namespace: 'acme',
          package_version: { container_metadata: { tag: { name: tag, digest: digest ?? '' } } },
        },
        repository: { full_name: 'acme/app' },
      });
    const postGithub = async (
      hook: CreatedHook,
      body: string,
      options: { delivery?: string; secret?: string; sentBody?: string; event?: string } = {},
    ) =>
      fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': options.event ?? 'registry_package',
          'x-github-delivery': options.delivery ?? crypto.randomUUID(),
          'x-hub-signature-256': await signGithub(options.secret ?? hook.secret!, body),
        },
        body: options.sentBody ?? body,
      });
    /** Waits out the debounce (and a margin), then returns the deployments made meanwhile. */
    const settle = async (service: string, before: number) => {
      await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 2));
      return (await deploymentsOf(service)).length - before;
    };

    beforeAll(async () => {
      registry = await startLocalRegistry();
      // v2 is a different image (a label), so Docker shows which one a container runs.
      const base = docker.getImage(TEST_IMAGE);
      const scratch = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['true'] });
      const committed = (await scratch.commit({ changes: 'LABEL berth.test.version=2' })) as { Id: string };
      await scratch.remove({ force: true });
      v2ImageId = committed.Id;
      digests.v1 = await registry.push((await base.inspect()).Id, 'app:v1');
      digests.v2 = await registry.push(v2ImageId, 'app:v2');

      runtime = await harness.start({ taskHealthyAfterMs: 300, hookDebounceMs: DEBOUNCE_MS });
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
      const definition = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `hooked-${harness.name}`,
          containerDefinitions: [
            {
              name: 'main',
              image: `${registry.host}/app:v1`,
              memory: 16,
              essential: true,
              stopTimeout: 2,
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
            {
              name: 'sidecar',
              image: TEST_IMAGE,
              memory: 16,
              essential: false,
              stopTimeout: 2,
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
          ],
        }),
      );
      const taskDefinition = definition.taskDefinition!.taskDefinitionArn!;
      for (const [serviceName, desiredCount] of [
        ['web', 2],
        ['quiet', 0],
        ['other', 0],
        ['spare', 0],
      ] as const) {
        await ecs.send(new CreateServiceCommand({ cluster, serviceName, taskDefinition, desiredCount }));
      }
      agent = spawnAgent({
        endpoint: runtime.endpoint,
        cluster,
        joinToken: await runtime.mintJoinToken(cluster),
      });
    }, 120_000);

    afterAll(async () => {
      await agent?.kill();
      await removeClusterContainers(cluster);
      await runtime?.close();
      await registry?.close();
      await docker
        .getImage(v2ImageId)
        .remove({ force: true })
        .catch(() => undefined);
    });

    it('a signed GitHub registry_package delivery rolls every container to the new tag', async () => {
      await waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster, services: ['web'] }).catch(
        (error) => {
          throw new Error(`${String(error)}\nagent output:\n${agent?.output()}`);
        },
      );
      const hook = await createHook({ service: 'web', provider: 'github', containers: ['main'] });
      expect(hook.url).toBe(`${runtime.endpoint}/hooks/${hook.id}`);
      expect(hook.secret).toMatch(/^[0-9a-f]{64}$/);
      const guid = crypto.randomUUID();
      const response = await postGithub(hook, registryPackage('v2', digests.v2), { delivery: guid });
      expect(response.status).toBe(202);
      const answer = (await response.json()) as { deliveryId: string };
      expect(answer.deliveryId).toMatch(/^dl/);

      // Every container of the service runs v2 (pulled from the registry by its digest); the
      // sidecar, which the hook does not name, keeps its image.
      const expected = `${registry.host}/app@${digests.v2}`;
      await waitFor(
        'both tasks to run v2',
        async () => {
          const running = (await lookAtCluster(cluster)).filter((c) => c.state === 'running');
          const inspected = await Promise.all(running.map((c) => docker.getContainer(c.id).inspect()));
          const mains = inspected.filter((c) => c.Config.Image.startsWith(registry.host));
          return (
            mains.length === 2 &&
            mains.every((c) => c.Config.Image === expected && c.Image === v2ImageId) &&
            inspected.filter((c) => c.Config.Image === TEST_IMAGE).length === 2 &&
            running.length === 4
          );
        },
        60_000,
        200,
      ).catch((error) => {
        throw new Error(`${String(error)}\nagent output:\n${agent?.output().slice(-3000)}`);
      });
      await waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster, services: ['web'] });

      // The deployment records its trigger; the service's events and the delivery log say so too.
      const [latest] = await deploymentsOf('web');
      const described = await ecs.send(
        new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [latest.serviceDeploymentArn!] }),
      );
      expect(described.serviceDeployments).toHaveLength(1);
      const raw = await signedFetch(
        runtime.endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DescribeServiceDeployments',
          },
          body: JSON.stringify({ serviceDeploymentArns: [latest.serviceDeploymentArn] }),
        },
        runtime.credentials,
      );
      const trigger = ((await raw.json()) as { serviceDeployments: { berth?: { trigger: unknown } }[] })
        .serviceDeployments[0].berth?.trigger;
      expect(trigger).toMatchObject({
        provider: 'github',
        hookIds: [hook.id],
        deliveryIds: [answer.deliveryId],
        sourceDeliveryIds: [guid],
        image: expected,
        imageDigest: digests.v2,
      });
      const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: ['web'] })))
        .services![0];
      const deploymentId = latest.serviceDeploymentArn!.split('/').pop();
      expect(service.events!.map((e) => e.message)).toContain(
        `(service web) (deployment ecs-svc/${deploymentId}) started by deploy hook ${hook.id}: github delivery ${guid}, image ${expected}.`,
      );
      const [logged] = await deliveries(hook);
      expect(logged).toMatchObject({
        id: answer.deliveryId,
        outcome: 'deployed',
        statusCode: 202,
        image: expected,
      });
    }, 120_000);

    it('refuses a tampered body (401, logged) and deploys nothing', async () => {
      const hook = await createHook({ service: 'quiet', provider: 'github' });
      const before = (await deploymentsOf('quiet')).length;
      const body = registryPackage('v2');
      const response = await postGithub(hook, body, { sentBody: body.replace('"v2"', '"v3"') });
      expect(response.status).toBe(401);
      expect(await settle('quiet', before)).toBe(0);
      expect(await deliveries(hook)).toEqual([
        expect.objectContaining({
          outcome: 'unauthorized',
          statusCode: 401,
          reason: 'X-Hub-Signature-256: does not match the body',
        }),
      ]);
    });

    it('answers a replayed delivery 2xx and deploys once', async () => {
      const hook = await createHook({ service: 'quiet', provider: 'github' });
      const before = (await deploymentsOf('quiet')).length;
      const guid = crypto.randomUUID();
      const body = registryPackage('v1');
      const first = await postGithub(hook, body, { delivery: guid });
      const second = await postGithub(hook, body, { delivery: guid });
      expect([first.status, second.status]).toEqual([202, 200]);
      const firstId = ((await first.json()) as { deliveryId: string }).deliveryId;
      expect(await second.json()).toMatchObject({ deliveryId: firstId, outcome: 'duplicate' });
      await waitFor('the deployment', async () => (await deploymentsOf('quiet')).length > before);
      expect(await settle('quiet', before)).toBe(1);
      // A third copy, after the deployment, changes nothing either.
      expect((await postGithub(hook, body, { delivery: guid })).status).toBe(200);
      expect(await settle('quiet', before)).toBe(1);
    });

    it('coalesces five deliveries in a burst into one deployment', async () => {
      const hook = await createHook({ service: 'quiet', provider: 'github', containers: ['main'] });
      const before = (await deploymentsOf('quiet')).length;
      const answers = await Promise.all(
        ['v1', 'v2', 'v1', 'v2', 'v2'].map((tag) => postGithub(hook, registryPackage(tag))),
      );
      expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
      await waitFor('the deployment', async () => (await deploymentsOf('quiet')).length > before);
      expect(await settle('quiet', before)).toBe(1);
      const logged = await deliveries(hook);
      expect(logged).toHaveLength(5);
      const [latest] = await deploymentsOf('quiet');
      const deploymentId = `ecs-svc/${latest.serviceDeploymentArn!.split('/').pop()}`;
      expect(logged.every((d) => d.outcome === 'deployed' && d.deploymentId === deploymentId)).toBe(true);
    });

    it('refuses and logs a tag the rule does not allow, and a branch outside the rule', async () => {
      const hook = await createHook({
        service: 'quiet',
        provider: 'github',
        tagPatterns: ['v*'],
        branches: ['main'],
      });
      const before = (await deploymentsOf('quiet')).length;
      const refused = await postGithub(hook, registryPackage('latest'));
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({
        outcome: 'refused',
        message: "tag 'latest' is not allowed (v*)",
      });
      const push = JSON.stringify({
        ref: 'refs/heads/feature',
        after: 'a'.repeat(40),
        repository: { full_name: 'acme/app' },
      });
      expect((await postGithub(hook, push, { event: 'push' })).status).toBe(403);
      expect(await settle('quiet', before)).toBe(0);
      expect((await deliveries(hook)).map((d) => [d.outcome, d.statusCode, d.reason])).toEqual([
        ['refused', 403, "branch 'feature' is not allowed (main)"],
        ['refused', 403, "tag 'latest' is not allowed (v*)"],
      ]);
    });

    it('accepts both secrets during a rotation, and only the new one after the old is revoked', async () => {
      const hook = await createHook({ service: 'other', provider: 'github' });
      const rotated = (await api('POST', `/berth/v1/hooks/${hook.id}/rotate`, {}))
        .body as unknown as CreatedHook;
      expect(rotated.secret).not.toBe(hook.secret);
      const before = (await deploymentsOf('other')).length;
      expect((await postGithub(hook, registryPackage('v1'), { secret: hook.secret })).status).toBe(202);
      expect((await postGithub(hook, registryPackage('v2'), { secret: rotated.secret })).status).toBe(202);
      await waitFor('the deployment', async () => (await deploymentsOf('other')).length > before);
      const finished = (await api('POST', `/berth/v1/hooks/${hook.id}/rotate`, { revokePrevious: true }))
        .body;
      expect(finished).toMatchObject({ secret: rotated.secret, activeSecrets: 1 });
      expect((await postGithub(hook, registryPackage('v1'), { secret: hook.secret })).status).toBe(401);
      expect((await postGithub(hook, registryPackage('v1'), { secret: rotated.secret })).status).toBe(202);
    });

    it('refuses a Standard Webhooks delivery whose timestamp is 10 minutes old', async () => {
      const hook = await createHook({ service: 'other', provider: 'standard' });
      expect(hook.secret).toMatch(/^whsec_/);
      const webhook = new Webhook(hook.secret!);
      const send = async (at: Date) => {
        const id = `msg_${crypto.randomUUID()}`;
        const body = JSON.stringify({
          type: 'image.pushed',
          timestamp: at.toISOString(),
          data: { image: 'app', tag: 'v2' },
        });
        return fetch(hook.url, {
          method: 'POST',
          headers: {
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': webhook.sign(id, at, body),
          },
          body,
        });
      };
      const old = await send(new Date(Date.now() - 10 * 60_000));
      expect(old.status).toBe(401);
      expect(((await old.json()) as { message: string }).message).toMatch(/timestamp too old/i);
      expect((await send(new Date())).status).toBe(202);
    });

    it('answers hostile input with a clean 4xx', async () => {
      const github = await createHook({ service: 'other', provider: 'github' });
      const dockerhub = await createHook({ service: 'other', provider: 'dockerhub' });
      expect(dockerhub.secret).toBeUndefined();
      expect(dockerhub.url).toMatch(new RegExp(`/hooks/${dockerhub.id}/[A-Za-z0-9_-]{43}$`));
      const huge = 'x'.repeat(1100 * 1024);
      expect((await postGithub(github, huge)).status).toBe(413);
      expect((await postGithub(github, '{not json')).status).toBe(400);
      expect((await fetch(`${runtime.endpoint}/hooks/hknope`, { method: 'POST', body: '{}' })).status).toBe(
        404,
      );
      const gitlabHeaders = await fetch(github.url, {
        method: 'POST',
        headers: { 'x-gitlab-token': github.secret!, 'x-gitlab-event': 'Push Hook' },
        body: '{}',
      });
      expect(gitlabHeaders.status).toBe(401);
      expect((await fetch(github.url)).status).toBe(405);
      const wrongToken = dockerhub.url.replace(/\/[^/]+$/, `/${'A'.repeat(43)}`);
      const hubBody = JSON.stringify({ push_data: { tag: 'v2' }, repository: { repo_name: 'acme/app' } });
      expect((await fetch(wrongToken, { method: 'POST', body: hubBody })).status).toBe(401);
      expect((await fetch(dockerhub.url, { method: 'POST', body: hubBody })).status).toBe(202);
      const badTag = JSON.stringify({
        push_data: { tag: '../../etc' },
        repository: { repo_name: 'acme/app' },
      });
      expect((await fetch(dockerhub.url, { method: 'POST', body: badTag })).status).toBe(400);
      // Management input is checked too: the ECS error name, the field named.
      const bad = await api('POST', '/berth/v1/hooks', { cluster, service: 'other', provider: 'ftp' });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ __type: 'InvalidParameterException' });
      expect(String(bad.body.message)).toMatch(/^provider: /);
      const noService = await api('POST', '/berth/v1/hooks', {
        cluster,
        service: 'nope',
        provider: 'github',
      });
      expect(noService.body).toMatchObject({ __type: 'ServiceNotFoundException' });
      const noContainer = await api('POST', '/berth/v1/hooks', {
        cluster,
        service: 'other',
        provider: 'github',
        containers: ['main', 'ghost'],
      });
      expect(noContainer.body).toMatchObject({ __type: 'InvalidParameterException' });
      expect(String(noContainer.body.message)).toMatch(/^containers: 'ghost' not in hooked-/);
    });

    it('redelivers a past delivery as a new deployment', async () => {
      const hook = await createHook({ service: 'spare', provider: 'generic' });
      const before = (await deploymentsOf('spare')).length;
      const first = await fetch(`${hook.url}?tag=v1`, {
        method: 'POST',
        headers: { 'idempotency-key': 'k1' },
      });
      expect(first.status).toBe(202);
      const { deliveryId } = (await first.json()) as { deliveryId: string };
      await waitFor('the deployment', async () => (await deploymentsOf('spare')).length > before);
      const again = await api('POST', `/berth/v1/hooks/${hook.id}/deliveries/${deliveryId}/redeliver`, {});
      expect(again.status).toBe(202);
      // The delivery is marked deployed just after its deployment is written: wait for the mark.
      const redelivered = await waitFor('the redelivery to deploy', async () => {
        const [latest] = await deliveries(hook);
        return latest.outcome === 'deployed' && latest;
      });
      expect(redelivered).toMatchObject({ redeliveryOf: deliveryId });
      expect((await deploymentsOf('spare')).length).toBe(before + 2);
    });
  });
}
