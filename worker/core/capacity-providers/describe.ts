/**
 * DescribeCapacityProviders: named providers (deleted ones too, as INACTIVE, like ECS), or a page
 * of the ACTIVE ones; with `cluster`, only those associated with it. Berth has no FARGATE or
 * FARGATE_SPOT, so unlike ECS it never lists them.
 */
import { asc, eq } from 'drizzle-orm';
import { type CapacityProviderRow, capacityProviders } from '../../../db/schema';
import type {
  CapacityProvider,
  DescribeCapacityProvidersRequest,
  DescribeCapacityProvidersResponse,
  Failure,
} from '../../ecs-types.generated';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import {
  capacityProviderArnOf,
  capacityProviderNameOf,
  capacityProvidersOf,
  findCapacityProviders,
  toEcsCapacityProvider,
} from './capacity-providers';

/** ECS: up to 100 named at once; pages of 1 to 10 (10 by default) otherwise. */
const MAX_NAMED = 100;
const MAX_PAGE = 10;

export async function describeCapacityProviders(
  deps: CoreDeps,
  input: DescribeCapacityProvidersRequest,
): Promise<DescribeCapacityProvidersResponse> {
  const tags = (input.include ?? []).includes('TAGS');
  const associated =
    input.cluster === undefined ? undefined : capacityProvidersOf(await requireCluster(deps, input.cluster));
  const references = input.capacityProviders ?? [];
  if (references.length > MAX_NAMED) {
    throw invalidParameter(
      `capacityProviders: at most ${MAX_NAMED} capacity providers can be described at once`,
    );
  }
  if (references.length > 0) return describeNamed(deps, references, associated, tags);

  const page = readPage(input, MAX_PAGE, MAX_PAGE);
  let rows: CapacityProviderRow[];
  if (associated) {
    // The cluster's order, which is the order PutClusterCapacityProviders was given.
    const byName = new Map((await findCapacityProviders(deps, associated)).map((row) => [row.name, row]));
    rows = associated
      .slice(page.offset, page.offset + page.limit + 1)
      .map((name) => byName.get(name))
      .filter((row) => row !== undefined);
  } else {
    rows = await deps.db
      .select()
      .from(capacityProviders)
      .where(eq(capacityProviders.status, 'ACTIVE'))
      .orderBy(asc(capacityProviders.createdAtMs), asc(capacityProviders.name))
      .limit(page.limit + 1)
      .offset(page.offset);
  }
  const { items, nextToken } = pageResult(rows, page);
  return {
    capacityProviders: items.map((row) => toEcsCapacityProvider(row, { tags })),
    failures: [],
    nextToken,
  };
}

async function describeNamed(
  deps: CoreDeps,
  references: string[],
  associated: string[] | undefined,
  tags: boolean,
): Promise<DescribeCapacityProvidersResponse> {
  const names = references.map((reference, i) =>
    capacityProviderNameOf(deps, reference, `capacityProviders[${i}]`),
  );
  const found = new Map(
    (
      await findCapacityProviders(
        deps,
        names.filter((name) => name !== undefined),
      )
    ).map((row) => [row.name, row]),
  );
  const described: CapacityProvider[] = [];
  const failures: Failure[] = [];
  references.forEach((reference, i) => {
    const name = names[i];
    const row = name === undefined ? undefined : found.get(name);
    if (!row) {
      failures.push({
        arn: name === undefined ? reference : capacityProviderArnOf(deps, name),
        reason: 'MISSING',
      });
    } else if (associated && !associated.includes(row.name)) {
      failures.push({
        arn: row.arn,
        reason: 'MISSING',
        detail: 'The capacity provider is not associated with the cluster.',
      });
    } else {
      described.push(toEcsCapacityProvider(row, { tags }));
    }
  });
  return { capacityProviders: described, failures };
}
