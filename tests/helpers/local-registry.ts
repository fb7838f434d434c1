/**
 * A real Docker registry for tests: Debian's `docker-registry` (distribution) on a free loopback
 * port with a temporary config and storage. Docker allows plain HTTP to registries on 127.0.0.0/8,
 * so the engine pushes and pulls there without configuration.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from './docker';
import { freePort } from './server-process';
import { waitFor } from './wait';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface LocalRegistry {
  /** `127.0.0.1:<port>`, the prefix of its image references. */
  host: string;
  /** Pushes a local image under `<host>/<name>` and removes the local tag, so a pull must go to the registry; returns the manifest digest. */
  push(localImage: string, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalRegistry(): Promise<LocalRegistry> {
  if (!existsSync(REGISTRY_BIN))
    throw new Error(`${REGISTRY_BIN} is missing: apt-get install -y docker-registry`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`,
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  await waitFor('the registry to answer', async () => (await fetch(`http://${host}/v2/`)).ok, 10_000, 50);
  return {
    host,
    async push(localImage, name) {
      const [repo, tag] = name.split(':');
      const reference = `${host}/${repo}`;
      await docker.getImage(localImage).tag({ repo: reference, tag });
      const image = docker.getImage(`${reference}:${tag}`);
      // Docker wants an X-Registry-Auth header even for a registry without authentication.
      const stream = await image.push({ authconfig: { serveraddress: host } });
      const events: { aux?: { Digest?: string }; error?: string }[] = await new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output))),
      );
      const failed = events.find((e) => e.error);
      if (failed) throw new Error(`push ${reference}:${tag}: ${failed.error}`);
      const digest = events.find((e) => e.aux?.Digest)?.aux?.Digest;
      if (!digest) throw new Error(`push ${reference}:${tag}: no digest reported`);
      await image.remove({ noprune: true });
      return digest;
    },
    async close() {
      // The references the agent pulled from this registry go with it (the images stay if tagged otherwise).
      const pulled = await docker.listImages({ filters: { reference: [`${host}/*`] } });
      for (const image of pulled) {
        for (const reference of [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])]) {
          if (reference.startsWith(`${host}/`))
            await docker
              .getImage(reference)
              .remove({ noprune: true })
              .catch(() => undefined);
        }
      }
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
