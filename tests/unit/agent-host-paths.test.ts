import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskStartFailure } from '../../agent/tasks/dependencies';
import { resolveHostMounts } from '../../agent/tasks/host-paths';
import type { ContainerSpec, HostAccessSpec } from '../../protocol/agent-protocol';

describe("the agent's host path check", () => {
  let root: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'berth-host-paths-')));
    mkdirSync(join(root, 'data', 'logs'), { recursive: true });
    mkdirSync(join(root, 'secrets'));
    symlinkSync(join(root, 'data'), join(root, 'data-link'));
    symlinkSync(join(root, 'secrets'), join(root, 'data', 'escape'));
    symlinkSync('/var/run/docker.sock', join(root, 'data', 'sock'));
    // Dangling: Docker would create what it points to, outside the allowlist.
    symlinkSync(join(root, 'secrets', 'not-yet', 'deeper'), join(root, 'data', 'dangling'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const container = (mounts: string[], access: Partial<HostAccessSpec> = {}): ContainerSpec => ({
    name: 'main',
    image: 'busybox',
    essential: true,
    environment: [],
    portMappings: [],
    dependsOn: [],
    hostAccess: {
      mounts: mounts.map((sourcePath) => ({ sourcePath, containerPath: '/mnt', readOnly: false })),
      allowedHostPaths: [join(root, 'data')],
      ...access,
    },
  });
  const sources = async (spec: ContainerSpec) =>
    (await resolveHostMounts(spec)).hostAccess!.mounts!.map((m) => m.sourcePath);
  const refusal = async (spec: ContainerSpec) => {
    const error = await resolveHostMounts(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskStartFailure);
    return (error as TaskStartFailure).message;
  };

  it('binds the resolved path of a source under the allowlist, including one not created yet', async () => {
    expect(
      await sources(container([join(root, 'data-link', 'logs'), join(root, 'data', 'new', 'dir')])),
    ).toEqual([join(root, 'data', 'logs'), join(root, 'data', 'new', 'dir')]);
  });

  it('resolves the allowlist too, so an allowed link covers where it leads', async () => {
    const spec = container([join(root, 'data', 'logs')], { allowedHostPaths: [join(root, 'data-link')] });
    expect(await sources(spec)).toEqual([join(root, 'data', 'logs')]);
  });

  it('refuses a link that leads out of the allowlist, naming both paths', async () => {
    expect(await refusal(container([join(root, 'data', 'escape')]))).toBe(
      `CannotCreateContainerError: host path '${join(root, 'data', 'escape')}' (which resolves to ` +
        `'${join(root, 'secrets')}') is outside the cluster's allowed host paths (${join(root, 'data')})`,
    );
  });

  it('follows a dangling link to where it points, so it cannot stand for a path outside', async () => {
    expect(await refusal(container([join(root, 'data', 'dangling')]))).toContain(
      `(which resolves to '${join(root, 'secrets', 'not-yet', 'deeper')}') is outside`,
    );
  });

  it("refuses a link to Docker's socket unless the policy allows the socket", async () => {
    const link = join(root, 'data', 'sock');
    expect(await refusal(container([link]))).toMatch(
      /exposes Docker's socket, which the cluster's container policy/,
    );
    const [resolved] = await sources(container([link], { dockerSocket: true }));
    expect(resolved).toMatch(/\/docker\.sock$/);
  });

  it('leaves a container without mounts as it is', async () => {
    const spec = { ...container([]), hostAccess: { privileged: true } };
    expect(await resolveHostMounts(spec)).toBe(spec);
  });
});
