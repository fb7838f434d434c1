export type { ClusterQuery, ComparisonOperator, QuerySubject } from './cluster-query';
export { MAX_CLUSTER_QUERY_LENGTH, matchesClusterQuery, parseClusterQuery } from './cluster-query';
export {
  type CapacityProviderStrategyItem,
  type ProviderPlacementRequest,
  type ProviderPlacementResult,
  placeTasksAcrossProviders,
  providerSequence,
} from './place-across-providers';
export { placeTasks } from './place-tasks';
export type * from './types';
export type {
  CompiledConstraint,
  CompiledPlacement,
  CompiledStrategy,
  PlacementFieldNames,
} from './validate-placement';
export { MAX_PLACEMENT_CONSTRAINTS, MAX_PLACEMENT_STRATEGIES, validatePlacement } from './validate-placement';
