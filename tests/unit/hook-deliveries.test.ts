/**
 * What each provider's delivery asks for once verified (worker/core/hooks/verify-delivery.ts), the
 * rules that refuse it (receive-delivery.ts), and the image a delivery makes of a container's.
 */
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import type { DeployHookRow } from '../../db/schema';
import { imageFor, repositoryOf } from '../../worker/core/hooks/hook-deploy';
import { ruleRefusal } from '../../worker/core/hooks/receive-delivery';
import {
  HookRefusal,
  newHookSecret,
  type RawDelivery,
  verifyDelivery,
} from '../../worker/core/hooks/verify-delivery';

const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const delivery = (
  headers: Record<string, string>,
  body: unknown,
  url = 'https://berth.example/hooks/hk1',
): RawDelivery => ({
  headers: new Headers(headers),
  url: new URL(url),
  body: encode(body),
});
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => (error instanceof HookRefusal ? [error.status, error.reason] : error),
  );

async function github(event: string, body: unknown, secret = 's3cret') {
  const text = JSON.stringify(body);
  return verifyDelivery(
    'github',
    delivery(
      { 'x-github-event': event, 'x-github-delivery': 'g1', 'x-hub-signature-256': await sign(secret, text) },
      text,
    ),
    ['s3cret'],
  );
}

describe('GitHub deliveries', () => {
  it('reads a push to a tag, to a branch, a completed workflow run and a published package', async () => {
    expect(
      await github('push', {
        ref: 'refs/tags/v1.2',
        after: 'a'.repeat(40),
        repository: { full_name: 'o/r' },
      }),
    ).toEqual({
      event: 'push',
      sourceDeliveryId: 'g1',
      repository: 'o/r',
      tag: 'v1.2',
      commitSha: 'a'.repeat(40),
    });
    expect(await github('push', { ref: 'refs/heads/main', after: 'b'.repeat(40) })).toMatchObject({
      branch: 'main',
    });
    expect(
      await github('workflow_run', {
        action: 'completed',
        workflow_run: { conclusion: 'success', head_branch: 'main', head_sha: 'c'.repeat(40) },
      }),
    ).toMatchObject({ branch: 'main', commitSha: 'c'.repeat(40) });
    expect(
      await github('workflow_run', {
        action: 'completed',
        workflow_run: { conclusion: 'failure', head_branch: 'main' },
      }),
    ).toMatchObject({ ignoredBecause: 'workflow run concluded failure' });
    expect(
      await github('package', {
        action: 'published',
        package: {
          name: 'app',
          owner: { login: 'acme' },
          package_version: {
            container_metadata: { tag: { name: 'v3', digest: `sha256:${'d'.repeat(64)}` } },
          },
        },
      }),
    ).toMatchObject({ repository: 'acme/app', tag: 'v3', digest: `sha256:${'d'.repeat(64)}` });
    const form = `payload=${encodeURIComponent(JSON.stringify({ ref: 'refs/tags/v4' }))}`;
    expect(
      await verifyDelivery(
        'github',
        delivery(
          {
            'content-type': 'application/x-www-form-urlencoded',
            'x-github-event': 'push',
            'x-hub-signature-256': await sign('s3cret', form),
          },
          form,
        ),
        ['s3cret'],
      ),
    ).toMatchObject({ tag: 'v4' });
    expect(await github('ping', { zen: 'hi' })).toMatchObject({
      ignoredBecause: "event 'ping' deploys nothing",
    });
  });

  it('refuses a signature made with another secret, a malformed one, and a bad tag', async () => {
    expect(await refusal(github('push', { ref: 'refs/heads/main' }, 'other'))).toEqual([
      401,
      'X-Hub-Signature-256: does not match the body',
    ]);
    expect(
      await refusal(
        verifyDelivery('github', delivery({ 'x-hub-signature-256': 'sha256=zz' }, '{}'), ['s3cret']),
      ),
    ).toEqual([401, 'X-Hub-Signature-256: not sha256=<64 hex digits>']);
    expect(await refusal(github('push', { ref: 'refs/tags/-bad tag' }))).toEqual([
      400,
      "tag: '-bad tag' is not an image tag",
    ]);
  });
});

describe('the other providers', () => {
  it('GitLab: the token in constant time, push and tag push events', async () => {
    const body = {
      object_kind: 'tag_push',
      ref: 'refs/tags/v9',
      checkout_sha: 'e'.repeat(40),
      project: { path_with_namespace: 'g/p' },
    };
    expect(
      await verifyDelivery(
        'gitlab',
        delivery(
          { 'x-gitlab-token': 'tok', 'x-gitlab-event': 'Tag Push Hook', 'idempotency-key': 'i1' },
          body,
        ),
        ['old', 'tok'],
      ),
    ).toEqual({
      event: 'Tag Push Hook',
      sourceDeliveryId: 'i1',
      repository: 'g/p',
      tag: 'v9',
      commitSha: 'e'.repeat(40),
    });
    expect(
      await refusal(verifyDelivery('gitlab', delivery({ 'x-gitlab-token': 'tok2' }, body), ['tok'])),
    ).toEqual([401, 'X-Gitlab-Token: does not match']);
  });

  it('Docker Hub and generic: the URL token; generic takes the query or the Standard-shaped body', async () => {
    const hub = {
      ...delivery({}, { push_data: { tag: 'v5' }, repository: { repo_name: 'me/app' } }),
      pathToken: 'T',
    };
    expect(await verifyDelivery('dockerhub', hub, ['T'])).toEqual({
      event: 'push',
      repository: 'me/app',
      tag: 'v5',
    });
    expect(await refusal(verifyDelivery('dockerhub', { ...hub, pathToken: undefined }, ['T']))).toEqual([
      401,
      'the URL has no token (/hooks/<id>/<token>)',
    ]);
    const query = {
      ...delivery({ 'idempotency-key': 'k' }, '', 'https://b/hooks/x/T?tag=v6&commit=abcdef1'),
      pathToken: 'T',
    };
    expect(await verifyDelivery('generic', query, ['T'])).toMatchObject({
      tag: 'v6',
      commitSha: 'abcdef1',
      sourceDeliveryId: 'k',
    });
    const body = {
      ...delivery(
        {},
        { type: 'image.pushed', timestamp: 1, data: { image: 'app', digest: `sha256:${'f'.repeat(64)}` } },
      ),
      pathToken: 'T',
    };
    expect(await verifyDelivery('generic', body, ['T'])).toMatchObject({
      repository: 'app',
      digest: `sha256:${'f'.repeat(64)}`,
    });
    const empty = { ...delivery({}, { type: 'image.pushed', data: {} }), pathToken: 'T' };
    expect(await refusal(verifyDelivery('generic', empty, ['T']))).toEqual([
      400,
      'data: a tag or a digest is required',
    ]);
  });

  it("makes secrets in each provider's form", () => {
    expect(newHookSecret('github')).toMatch(/^[0-9a-f]{64}$/);
    expect(newHookSecret('standard')).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(newHookSecret('dockerhub')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('rules and images', () => {
  const hook = (rules: { branches?: string[]; tags?: string[]; repositories?: string[] }) =>
    ({
      branchesJson: JSON.stringify(rules.branches ?? []),
      tagPatternsJson: JSON.stringify(rules.tags ?? []),
      repositoriesJson: JSON.stringify(rules.repositories ?? []),
    }) as DeployHookRow;

  it('refuses what the patterns do not allow, and a digest without a tag under a tag rule', () => {
    expect(
      ruleRefusal(hook({ tags: ['v*', 'release-?'] }), { event: 'e', tag: 'release-1' }),
    ).toBeUndefined();
    expect(ruleRefusal(hook({ tags: ['v*'] }), { event: 'e', tag: 'latest' })).toBe(
      "tag 'latest' is not allowed (v*)",
    );
    expect(ruleRefusal(hook({ tags: ['v*'] }), { event: 'e', digest: 'sha256:x' })).toMatch(
      /names a digest but no tag/,
    );
    expect(ruleRefusal(hook({ tags: ['v*'] }), { event: 'e', branch: 'main' })).toBeUndefined();
    expect(
      ruleRefusal(hook({ branches: ['main', 'release/*'] }), { event: 'e', branch: 'release/2' }),
    ).toBeUndefined();
    expect(ruleRefusal(hook({ repositories: ['acme/*'] }), { event: 'e', repository: 'evil/app' })).toMatch(
      /not allowed/,
    );
    expect(ruleRefusal(hook({ repositories: ['acme/*'] }), { event: 'e' })).toMatch(/names no repository/);
  });

  it("keeps the container's repository and changes only its tag or digest", () => {
    expect(repositoryOf('127.0.0.1:5000/team/app:v1')).toBe('127.0.0.1:5000/team/app');
    expect(repositoryOf('busybox')).toBe('busybox');
    expect(repositoryOf(`app@sha256:${'a'.repeat(64)}`)).toBe('app');
    expect(imageFor('127.0.0.1:5000/app:v1', { tag: 'v2', digest: null })).toBe('127.0.0.1:5000/app:v2');
    expect(imageFor('127.0.0.1:5000/app:v1', { tag: 'v2', digest: 'sha256:d' })).toBe(
      '127.0.0.1:5000/app@sha256:d',
    );
    expect(imageFor('app:v1', { tag: null, digest: null })).toBe('app:v1');
  });
});
