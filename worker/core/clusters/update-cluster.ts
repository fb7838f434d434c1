/**
 * UpdateCluster and UpdateClusterSettings: plain writes, not room commands, since nothing in them
 * changes placement (the room reads the cluster row afresh for every command it runs).
 */
import { and, eq } from 'drizzle-orm';
import { clusters } from '../../../db/schema';
import type {
  UpdateClusterRequest,
  UpdateClusterResponse,
  UpdateClusterSettingsRequest,
} from '../../ecs-types.generated';
import { untilSwapped } from '../compare-and-swap';
import type { CoreDeps } from '../deps';
import {
  mergeClusterConfiguration,
  mergeClusterSettings,
  serviceConnectDefaultsJson,
  validateClusterConfiguration,
  validateClusterSettings,
} from './cluster-settings';
import { clusterNameOf, describeClusters, requireCluster } from './clusters';

/**
 * Settings replace those of their name, configuration members replace theirs, and Service Connect
 * defaults replace the cluster's (an empty namespace removes them); what the call leaves out stays.
 */
export async function updateCluster(
  deps: CoreDeps,
  input: UpdateClusterRequest,
): Promise<UpdateClusterResponse> {
  const settings = input.settings && validateClusterSettings(input.settings);
  const configuration = input.configuration && validateClusterConfiguration(input.configuration);
  const serviceConnect =
    input.serviceConnectDefaults && serviceConnectDefaultsJson(input.serviceConnectDefaults);
  const name = clusterNameOf(input.cluster);
  // Settings and configuration are merged into what is stored, so the write is conditional on
  // them being unchanged: two concurrent updates of different settings both land.
  await untilSwapped(`Cluster ${input.cluster}`, async () => {
    const row = await requireCluster(deps, name);
    const next = {
      settingsJson: settings
        ? JSON.stringify(mergeClusterSettings(JSON.parse(row.settingsJson), settings))
        : row.settingsJson,
      configurationJson: configuration
        ? JSON.stringify(mergeClusterConfiguration(JSON.parse(row.configurationJson), configuration))
        : row.configurationJson,
      serviceConnectDefaultsJson:
        serviceConnect === undefined ? row.serviceConnectDefaultsJson : serviceConnect,
    };
    const updated = await deps.db
      .update(clusters)
      .set(next)
      .where(
        and(
          eq(clusters.arn, row.arn),
          eq(clusters.status, 'ACTIVE'),
          eq(clusters.settingsJson, row.settingsJson),
          eq(clusters.configurationJson, row.configurationJson),
        ),
      )
      .returning({ arn: clusters.arn });
    return updated.length > 0;
  });
  const described = await describeClusters(deps, {
    clusters: [name],
    include: ['SETTINGS', 'CONFIGURATIONS'],
  });
  return { cluster: described.clusters[0] };
}

export function updateClusterSettings(
  deps: CoreDeps,
  input: UpdateClusterSettingsRequest,
): Promise<UpdateClusterResponse> {
  return updateCluster(deps, { cluster: input.cluster, settings: input.settings });
}
