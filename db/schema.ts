/**
 * Berth's state, one table per ECS resource. Nested ECS shapes that are always read and written
 * with their parent (a task's containers, a task definition's body) are JSON columns: one row
 * write per status report, and a Describe returns exactly what was stored.
 * Times are epoch milliseconds.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { CapacityProvider, Task } from '../worker/ecs-types.generated';

export const clusters = sqliteTable('clusters', {
  arn: text('arn').primaryKey(),
  name: text('name').notNull().unique(),
  status: text('status', {
    enum: ['ACTIVE', 'INACTIVE', 'PROVISIONING', 'DEPROVISIONING', 'FAILED'],
  }).notNull(),
  tagsJson: text('tags_json').notNull().default('[]'),
  settingsJson: text('settings_json').notNull().default('[]'),
  /** Names of the capacity providers associated with the cluster, in the order they were given. */
  capacityProvidersJson: text('capacity_providers_json').notNull().default('[]'),
  /** The default capacity provider strategy, each item with its base and weight filled in. */
  defaultCapacityProviderStrategyJson: text('default_capacity_provider_strategy_json')
    .notNull()
    .default('[]'),
  /** ECS's ClusterConfiguration (executeCommandConfiguration, managedStorageConfiguration) as given. */
  configurationJson: text('configuration_json').notNull().default('{}'),
  /** ECS's ClusterServiceConnectDefaults (`{"namespace": ...}`), or null when the cluster has none. */
  serviceConnectDefaultsJson: text('service_connect_defaults_json'),
  /** Berth's container policy (`{"allow": [...], "hostPaths": [...]}`): what tasks may take from their host; empty denies all. */
  containerPolicyJson: text('container_policy_json').notNull().default('{"allow":[],"hostPaths":[]}'),
  createdAtMs: integer('created_at_ms').notNull(),
});

export const taskDefinitions = sqliteTable(
  'task_definitions',
  {
    arn: text('arn').primaryKey(),
    family: text('family').notNull(),
    revision: integer('revision').notNull(),
    status: text('status', { enum: ['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS'] }).notNull(),
    /** The registered TaskDefinition shape, without the columns above. */
    bodyJson: text('body_json').notNull(),
    tagsJson: text('tags_json').notNull().default('[]'),
    registeredAtMs: integer('registered_at_ms').notNull(),
    deregisteredAtMs: integer('deregistered_at_ms'),
  },
  (t) => [uniqueIndex('task_definitions_family_revision').on(t.family, t.revision)],
);

export const containerInstances = sqliteTable(
  'container_instances',
  {
    arn: text('arn').primaryKey(),
    clusterArn: text('cluster_arn').notNull(),
    /** The host's id; plays the part of ec2InstanceId. */
    instanceId: text('instance_id').notNull(),
    hostname: text('hostname').notNull(),
    status: text('status', {
      enum: ['ACTIVE', 'DRAINING', 'REGISTERING', 'DEREGISTERING', 'REGISTRATION_FAILED', 'INACTIVE'],
    }).notNull(),
    agentConnected: integer('agent_connected', { mode: 'boolean' }).notNull(),
    agentVersion: text('agent_version').notNull(),
    dockerVersion: text('docker_version').notNull(),
    registeredCpu: integer('registered_cpu').notNull(),
    registeredMemoryMiB: integer('registered_memory_mib').notNull(),
    /** Attributes the agent reports (os, arch, docker version, --attribute): replaced on every hello. */
    attributesJson: text('attributes_json').notNull().default('[]'),
    /** Attributes set through PutAttributes: kept across reconnects. */
    customAttributesJson: text('custom_attributes_json').notNull().default('[]'),
    /** Host ports no task may take (ECS's reserved ports plus the agent's own list), as a JSON array. */
    reservedPortsJson: text('reserved_ports_json').notNull().default('[22,2375,2376,51678,51679]'),
    tagsJson: text('tags_json').notNull().default('[]'),
    /**
     * SHA-256 of the instance's own credential, issued at registration and proven on every later
     * connect. Null for an instance registered before credentials existed: it can never be resumed.
     */
    credentialSha256: text('credential_sha256'),
    /** The join token that registered this instance (hashed): registrations per token are rate-limited. */
    registeredByTokenSha256: text('registered_by_token_sha256'),
    /** When an admin revoked the instance's credential: it is refused from then on (403). */
    credentialRevokedAtMs: integer('credential_revoked_at_ms'),
    registeredAtMs: integer('registered_at_ms').notNull(),
    lastSeenAtMs: integer('last_seen_at_ms').notNull(),
    version: integer('version').notNull().default(1),
  },
  (t) => [
    index('container_instances_cluster').on(t.clusterArn, t.registeredAtMs),
    uniqueIndex('container_instances_instance_id').on(t.clusterArn, t.instanceId),
    index('container_instances_registered_by').on(t.registeredByTokenSha256, t.registeredAtMs),
  ],
);

export const tasks = sqliteTable(
  'tasks',
  {
    arn: text('arn').primaryKey(),
    clusterArn: text('cluster_arn').notNull(),
    containerInstanceArn: text('container_instance_arn'),
    taskDefinitionArn: text('task_definition_arn').notNull(),
    family: text('family').notNull(),
    revision: integer('revision').notNull(),
    networkMode: text('network_mode').notNull(),
    group: text('group_name').notNull(),
    startedBy: text('started_by'),
    launchType: text('launch_type').$type<NonNullable<Task['launchType']>>().notNull().default('EC2'),
    lastStatus: text('last_status').notNull(),
    desiredStatus: text('desired_status').notNull(),
    /** Bumped on every desired-status change; commands carry it so a late duplicate can't act twice. */
    generation: integer('generation').notNull().default(1),
    /** The highest agent report sequence recorded; older reports are ignored. */
    reportSeq: integer('report_seq').notNull().default(-1),
    /** Bumped on every change; the version of the task's state-change events. */
    version: integer('version').notNull().default(1),
    cpu: integer('cpu').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    /** The ECS Container shapes plus what the agent needs (ContainerSpec), see worker/core/tasks/task-record.ts. */
    containersJson: text('containers_json').notNull(),
    overridesJson: text('overrides_json').notNull().default('{}'),
    tagsJson: text('tags_json').notNull().default('[]'),
    stopCode: text('stop_code'),
    stoppedReason: text('stopped_reason'),
    createdAtMs: integer('created_at_ms').notNull(),
    startedAtMs: integer('started_at_ms'),
    pullStartedAtMs: integer('pull_started_at_ms'),
    pullStoppedAtMs: integer('pull_stopped_at_ms'),
    stoppingAtMs: integer('stopping_at_ms'),
    stoppedAtMs: integer('stopped_at_ms'),
    executionStoppedAtMs: integer('execution_stopped_at_ms'),
    clientToken: text('client_token'),
    /** ECS Exec was turned on when the task was run (it can't be turned on later, as in ECS). */
    enableExecuteCommand: integer('enable_execute_command', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    index('tasks_cluster_desired').on(t.clusterArn, t.desiredStatus, t.createdAtMs),
    index('tasks_instance').on(t.containerInstanceArn, t.desiredStatus),
    index('tasks_cluster_family').on(t.clusterArn, t.family),
    // A service's tasks that stopped since the scheduler last looked (circuit breaker, throttle).
    index('tasks_cluster_group_stopped').on(t.clusterArn, t.group, t.stoppedAtMs),
  ],
);

/** Join tokens are stored hashed; the plain token is shown once, when minted. */
export const joinTokens = sqliteTable('join_tokens', {
  tokenSha256: text('token_sha256').primaryKey(),
  clusterName: text('cluster_name').notNull(),
  createdAtMs: integer('created_at_ms').notNull(),
  /** After this the token registers nothing (default 24 h after minting); null: never expires. */
  expiresAtMs: integer('expires_at_ms'),
  /** Registrations it may still make; null: unlimited. */
  usesLeft: integer('uses_left'),
  /** When an admin revoked it: it registers nothing from then on. */
  revokedAtMs: integer('revoked_at_ms'),
});

/** RunTask clientToken records: the same token with the same request returns the same tasks. */
export const runTaskRequests = sqliteTable(
  'run_task_requests',
  {
    clusterArn: text('cluster_arn').notNull(),
    clientToken: text('client_token').notNull(),
    requestSha256: text('request_sha256').notNull(),
    responseJson: text('response_json').notNull(),
    createdAtMs: integer('created_at_ms').notNull(),
  },
  (t) => [uniqueIndex('run_task_requests_token').on(t.clusterArn, t.clientToken)],
);

/**
 * Capacity providers, account-wide as in ECS. A Berth capacity provider is a pool of container
 * instances (those with the attribute `berth.capacity-provider` = its name), so nothing here
 * points at instances; see worker/core/capacity-providers/. The ARN is derived from the name, so
 * a provider created again after its deletion takes its old row.
 */
export const capacityProviders = sqliteTable('capacity_providers', {
  arn: text('arn').primaryKey(),
  name: text('name').notNull().unique(),
  status: text('status', { enum: ['ACTIVE', 'INACTIVE'] }).notNull(),
  /** ECS's AutoScalingGroupProvider as described back, ECS's defaults filled in; Berth scales nothing with it. */
  autoScalingGroupProviderJson: text('auto_scaling_group_provider_json').notNull(),
  updateStatus: text('update_status').$type<NonNullable<CapacityProvider['updateStatus']>>(),
  updateStatusReason: text('update_status_reason'),
  tagsJson: text('tags_json').notNull().default('[]'),
  createdAtMs: integer('created_at_ms').notNull(),
});

export type ClusterRow = typeof clusters.$inferSelect;
export type CapacityProviderRow = typeof capacityProviders.$inferSelect;
export type TaskDefinitionRow = typeof taskDefinitions.$inferSelect;
export type ContainerInstanceRow = typeof containerInstances.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;

/**
 * Task state-change events, written in the same batch as the change itself, so a consumer that
 * reconnects with Last-Event-ID misses nothing. `taskVersion` is the task's version after the change.
 * Services' deployment and service-action events share the table (and so the stream's order), see `kind`.
 */
export const taskEvents = sqliteTable(
  'task_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    clusterArn: text('cluster_arn').notNull(),
    taskArn: text('task_arn').notNull(),
    taskVersion: integer('task_version').notNull(),
    createdAtMs: integer('created_at_ms').notNull(),
    eventJson: text('event_json').notNull(),
    /**
     * The Server-Sent Events `event:` name: task-state-change, or for a service's events
     * (taskArn is then the service's ARN, taskVersion 0) deployment-state-change or service-action.
     */
    kind: text('kind').notNull().default('task-state-change'),
  },
  (t) => [index('task_events_cluster').on(t.clusterArn, t.id)],
);

/**
 * Named deadlines of a cluster's room that must outlive a restart (see worker/core/cluster/deadlines.ts).
 * `name` is `<kind>:<key>`.
 */
export const clusterDeadlines = sqliteTable(
  'cluster_deadlines',
  {
    clusterArn: text('cluster_arn').notNull(),
    name: text('name').notNull(),
    dueAtMs: integer('due_at_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.clusterArn, t.name] })],
);

/**
 * Account settings (PutAccountSetting and friends) per principal ARN. The account default
 * (PutAccountSettingDefault) is the setting of the account's root principal, as in ECS; a setting
 * nobody set is ECS's default and has no row (see worker/core/account-settings/).
 */
export const accountSettings = sqliteTable(
  'account_settings',
  {
    principalArn: text('principal_arn').notNull(),
    name: text('name').notNull(),
    value: text('value').notNull(),
    updatedAtMs: integer('updated_at_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalArn, t.name] })],
);

/**
 * ECS services (see worker/core/services/). The ARN is `service/<cluster>/<name>`, so a name is
 * unique per cluster and a service created again after it went INACTIVE takes its old row. The
 * ECS shapes a service keeps as given (strategies, constraints, deployment configuration) are
 * JSON columns; its events are the newest 100, newest first, as ServiceEvent JSON.
 */
export const services = sqliteTable(
  'services',
  {
    arn: text('arn').primaryKey(),
    clusterArn: text('cluster_arn').notNull(),
    name: text('name').notNull(),
    status: text('status', { enum: ['ACTIVE', 'DRAINING', 'INACTIVE'] }).notNull(),
    desiredCount: integer('desired_count').notNull(),
    taskDefinitionArn: text('task_definition_arn').notNull(),
    launchType: text('launch_type'),
    capacityProviderStrategyJson: text('capacity_provider_strategy_json').notNull().default('[]'),
    placementConstraintsJson: text('placement_constraints_json').notNull().default('[]'),
    placementStrategyJson: text('placement_strategy_json').notNull().default('[]'),
    deploymentConfigurationJson: text('deployment_configuration_json').notNull(),
    schedulingStrategy: text('scheduling_strategy').notNull().default('REPLICA'),
    propagateTags: text('propagate_tags').notNull().default('NONE'),
    enableEcsManagedTags: integer('enable_ecs_managed_tags', { mode: 'boolean' }).notNull().default(false),
    enableExecuteCommand: integer('enable_execute_command', { mode: 'boolean' }).notNull().default(false),
    healthCheckGracePeriodSeconds: integer('health_check_grace_period_seconds').notNull().default(0),
    tagsJson: text('tags_json').notNull().default('[]'),
    eventsJson: text('events_json').notNull().default('[]'),
    /** The failed-start back-off and how far stopped tasks were looked at (services/deployment-failures.ts). */
    failureStateJson: text('failure_state_json').notNull().default('{}'),
    /** The CreateService call's clientToken and a hash of its parameters: a repeat is answered, not redone. */
    clientToken: text('client_token'),
    requestSha256: text('request_sha256').notNull(),
    createdAtMs: integer('created_at_ms').notNull(),
    /** Stopped through the Berth API keeping its definition: the desiredCount to start again with. */
    stoppedDesiredCount: integer('stopped_desired_count'),
  },
  (t) => [index('services_cluster_status').on(t.clusterArn, t.status, t.name)],
);

/**
 * A service's deployments: PRIMARY (the newest), ACTIVE (older ones whose tasks are still being
 * replaced) and INACTIVE (finished, no longer described). Tasks name theirs in `startedBy`.
 */
export const serviceDeployments = sqliteTable(
  'service_deployments',
  {
    id: text('id').primaryKey(),
    serviceArn: text('service_arn').notNull(),
    status: text('status', { enum: ['PRIMARY', 'ACTIVE', 'INACTIVE'] }).notNull(),
    taskDefinitionArn: text('task_definition_arn').notNull(),
    rolloutState: text('rollout_state', { enum: ['IN_PROGRESS', 'COMPLETED', 'FAILED'] }).notNull(),
    rolloutStateReason: text('rollout_state_reason').notNull(),
    failedTasks: integer('failed_tasks').notNull().default(0),
    /** The revision's image digests by container name, as its tasks' agents first reported them. */
    imageDigestsJson: text('image_digests_json').notNull().default('{}'),
    createdAtMs: integer('created_at_ms').notNull(),
    updatedAtMs: integer('updated_at_ms').notNull(),
    /** Paused through the Berth API: the rollout takes no step until resumed. */
    pausedAtMs: integer('paused_at_ms'),
    /** Berth's progress deadline: when the rollout last moved forward, and how far (the scheduler's progressMark). */
    progressAtMs: integer('progress_at_ms'),
    progressMark: integer('progress_mark'),
    /** The deployment whose revision this one targets (a rollback reuses it); null: its own. */
    revisionId: text('revision_id'),
    /** Deployments whose tasks count as this one's (a rollback adopts the tasks of the revision it returns to). */
    adoptedJson: text('adopted_json').notNull().default('[]'),
    /** The circuit breaker's memory: whether a task reached RUNNING, which tasks were seen healthy. */
    breakerJson: text('breaker_json').notNull().default('{}'),
    /** How the service deployment ended when not by its own rollout: STOPPED or ROLLBACK_*. */
    outcome: text('outcome', {
      enum: ['STOPPED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED'],
    }),
    /** ECS's Rollback shape (reason, startedAt, serviceRevisionArn) plus the deployment that carries it out. */
    rollbackJson: text('rollback_json'),
    /** On a rollback deployment: the deployment it rolls back. */
    rollbackOf: text('rollback_of'),
    /** Started by deploy hooks: their provider, deliveries, commit and image (worker/core/hooks). */
    triggerJson: text('trigger_json'),
  },
  (t) => [index('service_deployments_service').on(t.serviceArn, t.status)],
);

export type ServiceRow = typeof services.$inferSelect;
export type ServiceDeploymentRow = typeof serviceDeployments.$inferSelect;

/**
 * API access keys. SigV4 needs the secret itself to recompute a signature, so it is stored
 * encrypted (AES-256-GCM under the server key, the key id as associated data), never hashed, and
 * never returned after it is created.
 */
export const accessKeys = sqliteTable('access_keys', {
  accessKeyId: text('access_key_id').primaryKey(),
  /** The principal the key belongs to: `arn:aws:iam::<account>:user/<name>` in messages. */
  principalName: text('principal_name').notNull(),
  secretCiphertext: text('secret_ciphertext').notNull(),
  /** The IAM-style policy documents that decide what the key may do. */
  policiesJson: text('policies_json').notNull(),
  /** What the key was created with (`admin`, `read-only`, `deployer:<cluster>`, or `custom`). */
  policyName: text('policy_name').notNull(),
  status: text('status', { enum: ['Active', 'Inactive'] }).notNull(),
  createdAtMs: integer('created_at_ms').notNull(),
});

export type AccessKeyRow = typeof accessKeys.$inferSelect;

/**
 * The audit log: every write call, agent registration, admin call and exec session, and every
 * refused call of a known key (worker/core/audit/audit-log.ts). Append-only; rows older than
 * BERTH_AUDIT_RETENTION_DAYS are purged.
 */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    atMs: integer('at_ms').notNull(),
    /** The principal's name (an access key's, or `instance/<id>`, `join-token/<id>` for agents). */
    principalName: text('principal_name').notNull(),
    accessKeyId: text('access_key_id'),
    /** `ecs:RunTask`, `berth:RevokeJoinToken`, `berth:RegisterContainerInstance`, … */
    action: text('action').notNull(),
    /** The cluster's name for calls inside one. */
    clusterName: text('cluster_name'),
    /** The ARN (or other name) the call acted on; the cluster's ARN, or `*`. */
    resource: text('resource').notNull(),
    /** `ok`, `denied` (refused: policy, signature, credential) or `error`. */
    outcome: text('outcome', { enum: ['ok', 'denied', 'error'] }).notNull(),
    /** `Success`, or the error's name (`AccessDeniedException`, `ClusterNotFoundException`, …). */
    result: text('result').notNull(),
    sourceAddress: text('source_address'),
    /** Anything else worth keeping (the join token id of a registration, an exec session's container). */
    detailJson: text('detail_json'),
  },
  (t) => [
    index('audit_events_at').on(t.atMs),
    index('audit_events_principal').on(t.principalName, t.atMs),
    index('audit_events_cluster').on(t.clusterName, t.atMs),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;

/** One row: when the audit log is next purged of events past their retention (any host may do it). */
export const auditPurge = sqliteTable('audit_purge', {
  id: integer('id').primaryKey(),
  nextPurgeAtMs: integer('next_purge_at_ms').notNull(),
});

/**
 * Deploy hooks (worker/core/hooks): a public URL that rolls one service's named containers to a new
 * image when a registry or a repository calls it, authenticated by its provider's signature or token.
 */
export const deployHooks = sqliteTable('deploy_hooks', {
  id: text('id').primaryKey(),
  clusterArn: text('cluster_arn').notNull(),
  serviceName: text('service_name').notNull(),
  provider: text('provider', { enum: ['github', 'gitlab', 'dockerhub', 'standard', 'generic'] }).notNull(),
  /** The containers a delivery may change; `[]` is every container of the service's definition. */
  containersJson: text('containers_json').notNull().default('[]'),
  /** Rules: glob patterns a delivery's branch, image tag and repository must match (`[]`: any). */
  branchesJson: text('branches_json').notNull().default('[]'),
  tagPatternsJson: text('tag_patterns_json').notNull().default('[]'),
  repositoriesJson: text('repositories_json').notNull().default('[]'),
  /** The active secrets (or URL tokens), newest first, at most two, each sealed with the server key (secret-box.ts). */
  secretsJson: text('secrets_json').notNull(),
  createdAtMs: integer('created_at_ms').notNull(),
  rotatedAtMs: integer('rotated_at_ms'),
});

export type DeployHookRow = typeof deployHooks.$inferSelect;

/** Every delivery a hook received, accepted or not, with its outcome; the newest few hundred per hook are kept. */
export const hookDeliveries = sqliteTable(
  'hook_deliveries',
  {
    id: text('id').primaryKey(),
    hookId: text('hook_id').notNull(),
    /** The provider's own delivery id (X-GitHub-Delivery, webhook-id, Idempotency-Key, …). */
    sourceDeliveryId: text('source_delivery_id'),
    /** Set on accepted deliveries only: a second accepted delivery with the same key is a repeat. */
    dedupeKey: text('dedupe_key'),
    provider: text('provider').notNull(),
    event: text('event'),
    outcome: text('outcome', {
      enum: ['queued', 'deployed', 'duplicate', 'ignored', 'refused', 'unauthorized', 'failed'],
    }).notNull(),
    statusCode: integer('status_code').notNull(),
    reason: text('reason'),
    repository: text('repository'),
    branch: text('branch'),
    tag: text('tag'),
    digest: text('digest'),
    commitSha: text('commit_sha'),
    /** The image reference deployed (`repo:tag` or `repo@digest`). */
    image: text('image'),
    deploymentId: text('deployment_id'),
    redeliveryOf: text('redelivery_of'),
    receivedAtMs: integer('received_at_ms').notNull(),
  },
  (t) => [
    uniqueIndex('hook_deliveries_dedupe').on(t.hookId, t.dedupeKey),
    index('hook_deliveries_hook').on(t.hookId, t.receivedAtMs),
    index('hook_deliveries_outcome').on(t.outcome, t.hookId),
  ],
);

export type HookDeliveryRow = typeof hookDeliveries.$inferSelect;

/**
 * Subscriptions to the cluster events (worker/core/webhooks/): each event of a subscribed type,
 * optionally only of one cluster and one service, is POSTed to `url` signed as Standard Webhooks
 * with the subscription's `whsec_` secret (stored sealed under the server key, the id as associated
 * data). A subscription whose deliveries keep failing for the whole retry window is DISABLED.
 */
export const eventSubscriptions = sqliteTable('event_subscriptions', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** JSON array of event types (task-state-change, deployment-state-change, service-action, container-instance-state-change). */
  eventTypesJson: text('event_types_json').notNull(),
  /** Only this cluster's events, when set. */
  clusterArn: text('cluster_arn'),
  /** Only this service's events (its tasks, deployments and actions), when set. */
  serviceName: text('service_name'),
  secretCiphertext: text('secret_ciphertext').notNull(),
  state: text('state', { enum: ['ENABLED', 'DISABLED'] }).notNull(),
  disabledReason: text('disabled_reason'),
  createdAtMs: integer('created_at_ms').notNull(),
});

/**
 * The outbox and delivery log of the event webhooks: one row per (subscription, event), inserted
 * by the `task_events_outbox` trigger (see the migration) in the very statement that records the
 * event, so an event is never recorded without its deliveries. PENDING rows are due at
 * `next_attempt_at_ms`; a delivery ends DELIVERED (a 2xx) or FAILED (retries exhausted, or its
 * subscription disabled). The payload is the event row itself (`event_row_id`).
 */
export const eventDeliveries = sqliteTable(
  'event_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subscriptionId: text('subscription_id').notNull(),
    clusterArn: text('cluster_arn').notNull(),
    eventRowId: integer('event_row_id').notNull(),
    /** The event's own id: the `webhook-id` header, the same on every attempt. */
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    status: text('status', { enum: ['PENDING', 'DELIVERED', 'FAILED'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAtMs: integer('next_attempt_at_ms').notNull(),
    lastAttemptAtMs: integer('last_attempt_at_ms'),
    /** The HTTP status of the last attempt (absent when it got no answer). */
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAtMs: integer('created_at_ms').notNull(),
  },
  (t) => [
    index('event_deliveries_due').on(t.clusterArn, t.status, t.nextAttemptAtMs),
    index('event_deliveries_subscription').on(t.subscriptionId, t.id),
  ],
);

export type EventSubscriptionRow = typeof eventSubscriptions.$inferSelect;
export type EventDeliveryRow = typeof eventDeliveries.$inferSelect;

/**
 * Every exec session (ExecuteCommand's interactive sessions and Berth's non-interactive exec): who
 * asked, where, what, when it started and ended, and how. The data-channel token is single-use and
 * short-lived; only its SHA-256 is kept.
 */
export const execSessions = sqliteTable(
  'exec_sessions',
  {
    sessionId: text('session_id').primaryKey(),
    clusterArn: text('cluster_arn').notNull(),
    clusterName: text('cluster_name').notNull(),
    taskArn: text('task_arn').notNull(),
    containerName: text('container_name').notNull(),
    containerRuntimeId: text('container_runtime_id').notNull(),
    containerInstanceArn: text('container_instance_arn').notNull(),
    /** The command as given (ExecuteCommand's string, or the JSON array of the Berth API). */
    command: text('command').notNull(),
    interactive: integer('interactive', { mode: 'boolean' }).notNull(),
    /** The principal of the signed call that started it. */
    principal: text('principal').notNull(),
    /** Set for ExecuteCommand sessions until the data channel is opened with it. */
    tokenHash: text('token_hash'),
    tokenExpiresAtMs: integer('token_expires_at_ms'),
    tokenUsedAtMs: integer('token_used_at_ms'),
    /** Whether the cluster's executeCommandConfiguration asked for the session's output to be kept. */
    logging: integer('logging', { mode: 'boolean' }).notNull().default(false),
    startedAtMs: integer('started_at_ms').notNull(),
    endedAtMs: integer('ended_at_ms'),
    exitCode: integer('exit_code'),
    /** Why it ended when not by the command exiting (idle timeout, link dropped, terminated). */
    endReason: text('end_reason'),
  },
  (t) => [index('exec_sessions_cluster_started').on(t.clusterArn, t.startedAtMs)],
);

export type ExecSessionRow = typeof execSessions.$inferSelect;

/** A logged session's output, in order. */
export const execTranscriptChunks = sqliteTable(
  'exec_transcript_chunks',
  {
    sessionId: text('session_id').notNull(),
    seq: integer('seq').notNull(),
    /** Base64 of the raw bytes (a terminal's output need not be UTF-8). */
    dataBase64: text('data_base64').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);
