/**
 * A local HTTP endpoint for Berth's event webhooks, as a user would run one: it records every
 * request (path, headers, raw body) and answers with the status the test chooses per path, so a
 * test can make it fail for a while and then recover. Signatures are checked with the
 * `standardwebhooks` package, as the docs tell receivers to.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { Webhook } from 'standardwebhooks';

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this request was answered with. */
  answered: number;
  receivedAtMs: number;
}

export interface WebhookBody {
  type: string;
  timestamp: string;
  data: { id: string; 'detail-type': string; detail: Record<string, unknown> };
}

export interface WebhookReceiver {
  /** The URL of a path on this receiver (each subscription gets its own). */
  url(path: string): string;
  received: ReceivedDelivery[];
  /** Answers every later request to `path` with `status` (200 until told otherwise). */
  answer(path: string, status: number): void;
  /** The requests to `path` that got a 2xx, each verified with `secret`; throws on any bad signature. */
  accepted(path: string, secret: string): WebhookBody[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const statusByPath = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const answered = statusByPath.get(path) ?? 200;
      received.push({
        path,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered,
        receivedAtMs: Date.now(),
      });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    answer: (path, status) => statusByPath.set(path, status),
    accepted(path, secret) {
      const webhook = new Webhook(secret);
      return received
        .filter((r) => r.path === path && r.answered >= 200 && r.answered < 300)
        .map((r) => webhook.verify(r.body, r.headers as Record<string, string>) as WebhookBody);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Events to deliver without any host: a cluster with three services of desired count 0, each of
 * which records its deployment's and service's events as it is created.
 */
export async function createIdleServices(ecs: ECSClient, cluster: string): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'hooked',
      containerDefinitions: [{ name: 'app', image: 'busybox', memory: 32 }],
    }),
  );
  for (const serviceName of ['one', 'two', 'three']) {
    await ecs.send(
      new CreateServiceCommand({ cluster, serviceName, taskDefinition: 'hooked', desiredCount: 0 }),
    );
  }
}
