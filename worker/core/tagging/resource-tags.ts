/**
 * TagResource, UntagResource and ListTagsForResource, for every resource in TAGGABLE_RESOURCES,
 * addressed by ARN as in ECS. Plain writes, not room commands: see taggable-resources.ts for why
 * tags of tasks and container instances need no room.
 */
import { sql } from 'drizzle-orm';
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse,
} from '../../ecs-types.generated';
import { parseEcsArn } from '../arn';
import { requireCluster } from '../clusters/clusters';
import { untilSwapped } from '../compare-and-swap';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { MAX_TAGS, mergeTags, type Tag, validateTagKeys, validateTags } from '../tags';
import { resourceWhere, TAGGABLE_RESOURCES, type TaggableResource } from './taggable-resources';

interface ResolvedResource {
  arn: string;
  resource: TaggableResource;
}

/** The taggable resource an ARN names: InvalidParameterException for anything that is not one. */
async function resolve(deps: CoreDeps, resourceArn: string): Promise<ResolvedResource> {
  const parsed = parseEcsArn(resourceArn);
  if (!parsed) throw invalidParameter(`resourceArn: '${excerpt(resourceArn)}' is not an ECS ARN`);
  const { region, accountId } = deps.config;
  if (parsed.region !== region || parsed.accountId !== accountId) {
    throw invalidParameter(
      `resourceArn: '${excerpt(resourceArn)}' names region '${parsed.region}' and account '${parsed.accountId}'; this control plane serves region '${region}', account '${accountId}'`,
    );
  }
  const resource = Object.hasOwn(TAGGABLE_RESOURCES, parsed.resourceType)
    ? TAGGABLE_RESOURCES[parsed.resourceType]
    : undefined;
  if (!resource) {
    throw invalidParameter(
      `resourceArn: ${parsed.resourceType} resources can't be tagged; taggable are ${Object.keys(TAGGABLE_RESOURCES).join(', ')}`,
    );
  }
  if (resource.inCluster) await requireCluster(deps, parsed.path[0]);
  return { arn: resourceArn, resource };
}

/** The tags as stored (the exact text, which a write compares against), or the resource's not-found error. */
async function readTagsJson(deps: CoreDeps, { arn, resource }: ResolvedResource): Promise<string> {
  const [row] = await deps.db
    .select({ tagsJson: sql<string>`${resource.tagsJson}` })
    .from(resource.table)
    .where(resourceWhere(resource, arn));
  if (!row) throw resource.notFound();
  return row.tagsJson;
}

/**
 * Read, change, and write back only if nobody wrote in between (compare-and-swap on the stored
 * text), so two concurrent TagResource calls on one resource both land and the merged count is
 * checked against what is really stored.
 */
async function changeTags(
  deps: CoreDeps,
  target: ResolvedResource,
  change: (current: Tag[]) => Tag[],
): Promise<void> {
  const { arn, resource } = target;
  await untilSwapped(`The tags of ${arn}`, async () => {
    const currentJson = await readTagsJson(deps, target);
    const next = change(JSON.parse(currentJson) as Tag[]);
    resource.checkTags?.(next);
    const nextJson = JSON.stringify(next);
    if (nextJson === currentJson) return true;
    const result = await deps.db.run(
      sql`update ${resource.table} set ${sql.identifier(resource.tagsJson.name)} = ${nextJson} where ${resourceWhere(resource, arn)} and ${resource.tagsJson} = ${currentJson}`,
    );
    return result.rowsAffected > 0;
  });
}

export async function tagResource(deps: CoreDeps, input: TagResourceRequest): Promise<TagResourceResponse> {
  const tags = validateTags(input.tags);
  await changeTags(deps, await resolve(deps, input.resourceArn), (current) => {
    const merged = mergeTags(current, tags);
    if (merged.length > MAX_TAGS) {
      throw new EcsError(
        'LimitExceededException',
        `tags: the resource would have ${merged.length} tags; at most ${MAX_TAGS} are allowed`,
      );
    }
    return merged;
  });
  return {};
}

export async function untagResource(
  deps: CoreDeps,
  input: UntagResourceRequest,
): Promise<UntagResourceResponse> {
  const removed = new Set(validateTagKeys(input.tagKeys));
  await changeTags(deps, await resolve(deps, input.resourceArn), (current) =>
    current.filter((tag) => !removed.has(tag.key ?? '')),
  );
  return {};
}

export async function listTagsForResource(
  deps: CoreDeps,
  input: ListTagsForResourceRequest,
): Promise<Required<ListTagsForResourceResponse>> {
  const tagsJson = await readTagsJson(deps, await resolve(deps, input.resourceArn));
  return { tags: JSON.parse(tagsJson) as Tag[] };
}
