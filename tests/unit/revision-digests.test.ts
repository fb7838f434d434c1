import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceDeployments } from '../../db/schema';
import { recordRevisionDigests } from '../../worker/core/services/revision-digests';
import { serviceArn } from '../../worker/core/services/service-record';
import { aContainerRecord, aTaskRow, TEST_NOW_MS } from '../helpers/builders';
import { createTestCommandContext, type TestCommandContext } from '../helpers/command-context';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const DEPLOYMENT = 'ecs-svc/1234567890123456789';

let test: TestCommandContext | undefined;
afterEach(() => test?.close());

async function withDeployment() {
  test = await createTestCommandContext({});
  const arn = serviceArn(test.deps.config, 'default', 'web');
  await test.deps.db.insert(serviceDeployments).values({
    id: DEPLOYMENT,
    serviceArn: arn,
    status: 'PRIMARY',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/web:1',
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: '',
    createdAtMs: TEST_NOW_MS,
    updatedAtMs: TEST_NOW_MS,
  });
  const digests = async () => {
    const [row] = await test!.deps.db
      .select()
      .from(serviceDeployments)
      .where(eq(serviceDeployments.id, DEPLOYMENT));
    return JSON.parse(row.imageDigestsJson) as Record<string, string>;
  };
  return { ctx: test.ctx, digests };
}

const serviceTask = (digests: Record<string, string | undefined>, overrides = {}) =>
  aTaskRow({
    group: 'service:web',
    startedBy: DEPLOYMENT,
    containers: Object.entries(digests).map(([name, imageDigest]) => aContainerRecord({ name, imageDigest })),
    ...overrides,
  });

describe("a service revision's image digests", () => {
  it('takes each container digest from the first task that reports it, and never changes it after', async () => {
    const { ctx, digests } = await withDeployment();
    await recordRevisionDigests(ctx, [serviceTask({ app: DIGEST_A, sidecar: undefined })]);
    expect(await digests()).toEqual({ app: DIGEST_A });
    await recordRevisionDigests(ctx, [serviceTask({ app: DIGEST_B, sidecar: DIGEST_B })]);
    expect(await digests()).toEqual({ app: DIGEST_A, sidecar: DIGEST_B });
    await recordRevisionDigests(ctx, [serviceTask({ app: DIGEST_B, sidecar: DIGEST_A })]);
    expect(await digests()).toEqual({ app: DIGEST_A, sidecar: DIGEST_B });
  });

  it("ignores a task outside the revision's service that carries its deployment id", async () => {
    const { ctx, digests } = await withDeployment();
    await recordRevisionDigests(ctx, [serviceTask({ app: DIGEST_B }, { group: 'service:other' })]);
    await recordRevisionDigests(ctx, [serviceTask({ app: DIGEST_B }, { group: 'family:web' })]);
    expect(await digests()).toEqual({});
  });
});
