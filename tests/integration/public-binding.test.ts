/**
 * A control plane bound beyond loopback (`berth server --host 0.0.0.0`): reachable at the machine's
 * own address with a signed call, unsigned calls refused, and host names answered only when
 * BERTH_ALLOWED_HOSTS lists them (an IP address cannot be rebound, a name can).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../../worker/hosts/node/control-plane';
import { createTestKey, signedRequest, type TestCredentials } from '../helpers/credentials';

const LIST_CLUSTERS = {
  method: 'POST',
  headers: {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters',
  },
  body: '{}',
};

/** The machine's first non-loopback IPv4 address: where a remote client would reach it. */
function machineAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  throw new Error('this machine has no non-loopback IPv4 address to test a public binding with');
}

/** Sends a signed request to `address` while naming `hostName` in Host (and in the signature). */
async function sendAs(
  hostName: string,
  address: string,
  port: number,
  credentials: TestCredentials | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `http://${hostName}:${port}/`;
  const signed = credentials
    ? await signedRequest(url, LIST_CLUSTERS, credentials)
    : new Request(url, {
        ...LIST_CLUSTERS,
        headers: { ...LIST_CLUSTERS.headers, host: `${hostName}:${port}` },
      });
  const headers = Object.fromEntries(signed.headers);
  headers.host = `${hostName}:${port}`;
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: address, port, path: '/', method: 'POST', headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    outgoing.on('error', reject);
    outgoing.end(LIST_CLUSTERS.body);
  });
}

describe('a control plane bound to every address', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-public-'));
  let plane: RunningControlPlane;
  let credentials: TestCredentials;
  const address = machineAddress();

  beforeAll(async () => {
    plane = await startControlPlane({
      database: { dataDir },
      host: '0.0.0.0',
      port: 0,
      log: () => {},
      config: { allowedHosts: ['berth.example.com'] },
    });
    credentials = await createTestKey(plane.deps, plane.serverKey);
  });
  afterAll(async () => {
    await plane?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves a signed call at the machine address, and refuses an unsigned one', async () => {
    const signed = await sendAs(address, address, plane.port, credentials);
    expect(signed).toEqual({ status: 200, body: { clusterArns: [] } });
    const unsigned = await sendAs(address, address, plane.port, undefined);
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.__type).toBe('MissingAuthenticationTokenException');
  });

  it('answers a listed host name and refuses any other name, signed or not', async () => {
    expect((await sendAs('berth.example.com', address, plane.port, credentials)).status).toBe(200);
    const other = await sendAs('rebound.attacker.example', address, plane.port, credentials);
    expect(other.status).toBe(403);
    expect(other.body.message).toContain("Requests for host 'rebound.attacker.example:");
  });
});
