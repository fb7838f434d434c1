import { describe, expect, it } from 'vitest';
import { imageDigestOf } from '../../agent/runtime/docker';

const ID = `sha256:${'1'.repeat(64)}`;
const HUB = `sha256:${'a'.repeat(64)}`;
const MIRROR = `sha256:${'b'.repeat(64)}`;

describe("the agent's image digest", () => {
  it("is the registry digest of the container's repository, from Docker's RepoDigests", () => {
    const image = { Id: ID, RepoDigests: [`mirror.example/tools/busybox@${MIRROR}`, `busybox@${HUB}`] };
    expect(imageDigestOf(image, 'busybox:1.36')).toBe(HUB);
    expect(imageDigestOf(image, 'docker.io/library/busybox')).toBe(HUB);
    expect(imageDigestOf(image, 'mirror.example/tools/busybox:latest')).toBe(MIRROR);
    expect(imageDigestOf(image, `busybox@${HUB}`)).toBe(HUB);
  });

  it('takes a registry port for a port, not a tag', () => {
    const image = { Id: ID, RepoDigests: [`registry.local:5000/app@${MIRROR}`] };
    expect(imageDigestOf(image, 'registry.local:5000/app')).toBe(MIRROR);
  });

  it('falls back to the first RepoDigests entry, then to the image id for an image built locally', () => {
    expect(imageDigestOf({ Id: ID, RepoDigests: [`other@${HUB}`] }, 'renamed:1')).toBe(HUB);
    expect(imageDigestOf({ Id: ID, RepoDigests: [] }, 'berth-test/busybox:latest')).toBe(ID);
    expect(imageDigestOf({ Id: ID }, 'berth-test/busybox:latest')).toBe(ID);
  });
});
