/**
 * `berth server --tls-cert --tls-key` (here through BERTH_TLS_CERT_FILE/KEY_FILE): the ECS API over
 * HTTPS for the AWS SDK, and a real agent process joining over wss:// that trusts the certificate
 * through NODE_EXTRA_CA_CERTS, as a host would with a private CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../helpers/agent-process';
import { type BerthProcess, spawnBerth } from '../helpers/berth-process';
import { createTestKeyInDataDir } from '../helpers/credentials';
import { freePort, mintJoinTokenWithCli } from '../helpers/server-process';
import { waitFor } from '../helpers/wait';

describe('a control plane serving TLS itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  const dataDir = join(dir, 'data');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  let server: BerthProcess;
  let agent: AgentProcess | undefined;
  let ecs: ECSClient;
  let endpoint: string;

  /** GET over HTTPS trusting only the test's certificate: the status, or the TLS error. */
  const httpsStatus = (url: string, ca?: Buffer) =>
    new Promise<number | string>((resolve) => {
      get(url, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    const credentials = await createTestKeyInDataDir(dataDir);
    const port = await freePort();
    endpoint = `https://127.0.0.1:${port}`;
    server = spawnBerth(['server', '--port', String(port), '--data-dir', dataDir], {
      BERTH_TLS_CERT_FILE: certFile,
      BERTH_TLS_KEY_FILE: keyFile,
    });
    const ca = readFileSync(certFile);
    await waitFor('the TLS control plane to answer', async () => {
      if (server.child.exitCode !== null) throw new Error(`server exited: ${server.output()}`);
      return (await httpsStatus(`${endpoint}/health`, ca)) === 200;
    });
    ecs = new ECSClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }),
    });
  }, 60_000);
  afterAll(async () => {
    ecs?.destroy();
    await agent?.kill();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a client that does not trust the certificate, and serves one that does', async () => {
    expect(await httpsStatus(`${endpoint}/health`)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    await ecs.send(new CreateClusterCommand({ clusterName: 'tls' }));
  });

  it('lets an agent join over wss:// when its host trusts the certificate', async () => {
    agent = spawnAgent({
      endpoint,
      cluster: 'tls',
      joinToken: mintJoinTokenWithCli(dataDir, 'tls'),
      env: { NODE_EXTRA_CA_CERTS: certFile },
    });
    const arn = await waitFor(
      'the agent to register over wss',
      async () => {
        const listed = await ecs.send(new ListContainerInstancesCommand({ cluster: 'tls' }));
        return listed.containerInstanceArns?.[0];
      },
      30_000,
      250,
    );
    const described = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster: 'tls', containerInstances: [arn] }),
    );
    expect(described.containerInstances?.[0]?.agentConnected).toBe(true);
  });
});
