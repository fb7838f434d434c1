/**
 * `berth <command>`: the one command-line entry of the project.
 *   berth start        control plane + a local agent joined to `default` (what `npm start` runs)
 *   berth server       the control plane alone
 *   berth agent        a host agent (see agent/index.ts for its options)
 *   berth join-token   mint a join token for a cluster
 *   berth join-tokens  list or revoke join tokens
 *   berth instances    revoke a container instance's credential
 *   berth audit        read the audit log
 *   berth keys         create, list, deactivate and delete API access keys
 *   berth services     pause, resume, roll back, stop or start a service (Berth's controls)
 *   berth cluster-policy  set or print a cluster's container policy (what tasks may take from their host)
 *   berth hooks        deploy hooks: create, list, delete, rotate, deliveries, redeliver
 *   berth subscriptions  event webhooks: create, list, delete, and each one's delivery log
 *   berth exec         run a command in a task's container (exit code, stdout/stderr apart; -it: a shell)
 *   berth logs         a task container's logs, optionally followed
 * Each command loads only its own code: an agent on a host (and every restart of it) never loads
 * the control plane, which tsx would otherwise transpile on every start.
 */
import { readFileSync } from 'node:fs';
import { flag, type ParsedArgs, parseArgs } from './args';

const USAGE = `usage: berth <command> [options]

commands:
  start       control plane on 127.0.0.1:8787 plus a local agent joined to cluster "default"
              [--host H] [--port N] [--data-dir DIR]          (env: HOST, PORT, BERTH_DATA_DIR)
  server      the control plane alone, same options plus [--database-url URL --database-token T]
              [--tls-cert FILE --tls-key FILE]   serve HTTPS/wss (env: BERTH_TLS_CERT_FILE, BERTH_TLS_KEY_FILE)
  agent       a host agent: --endpoint URL --cluster NAME --join-token T [--attribute k=v ...]
              [--cpu UNITS] [--memory MiB] [--state-dir DIR] [--reserved-ports 22,2375,...]
  join-token  mint a join token: --cluster NAME [--ttl 90s|15m|24h (default 24h)] [--uses N]
              [--data-dir DIR | --database-url URL]
  join-tokens list [--cluster NAME] [--json] | revoke ID          [--endpoint URL]
  instances   revoke --cluster NAME INSTANCE_ID_OR_ARN             [--endpoint URL]
              (its agent is cut off at once, refused after, and exits)
  audit       [--principal P] [--action A] [--cluster C] [--resource R] [--result ok|denied|error]
              [--since 1h|ISO] [--until ISO] [--limit N (default 50)] [--json]  [--endpoint URL]
  keys        create --name N --policy admin|read-only|deployer:CLUSTER|FILE.json | list |
              delete ID | activate ID | deactivate ID  [--endpoint URL] (env: BERTH_ENDPOINT,
              signed with the standard AWS credential chain)
  services    pause|resume|rollback|stop|start --service NAME [--cluster NAME] [--revision ARN]
              [--endpoint URL]                                 (env: BERTH_ENDPOINT)
  cluster-policy  --cluster NAME [--allow privileged|host-network|host-pid|host-ipc|docker-socket|
              capabilities|devices]... [--host-path PATH]...  sets the cluster's container policy
              (admins only); without --allow/--host-path prints it   [--endpoint URL]
  hooks       create --cluster C --service S --provider github|gitlab|dockerhub|standard|generic
              [--container NAME]... [--branch PATTERN]... [--tags PATTERN]... [--repository PATTERN]...
              | list [--cluster C] | delete ID | rotate ID [--revoke-previous] | deliveries ID |
              redeliver ID DELIVERY                            [--endpoint URL] (env: BERTH_ENDPOINT)
  subscriptions  create --url URL [--events TYPE,...] [--cluster NAME] [--service NAME] | list |
              delete ID | deliveries ID  [--endpoint URL]      (env: BERTH_ENDPOINT)
  exec        --task T [--cluster C] [--container NAME] -- CMD ARGS...   exits with CMD's exit code
              exec -it --task T [...] [-- CMD ARGS...]         an interactive session (default: sh)
  logs        --task T [--cluster C] [--container NAME] [--follow] [--since 10m|UNIX|ISO]
              [--tail N] [--timestamps]
`;

async function serverSettings(args: ParsedArgs) {
  const { localDatabase } = await import('./local-database');
  return {
    host: flag(args, 'host') ?? process.env.HOST ?? '127.0.0.1',
    port: Number(flag(args, 'port') ?? process.env.PORT ?? 8787),
    database: localDatabase(args),
  };
}

/** The certificate and key `berth server` serves HTTPS with: both or neither. */
function tlsSettings(args: ParsedArgs): { cert: Buffer; key: Buffer } | undefined {
  const certFile = flag(args, 'tls-cert') ?? process.env.BERTH_TLS_CERT_FILE;
  const keyFile = flag(args, 'tls-key') ?? process.env.BERTH_TLS_KEY_FILE;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new Error('server: --tls-cert and --tls-key (BERTH_TLS_CERT_FILE, BERTH_TLS_KEY_FILE) go together');
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  switch (command) {
    case 'start': {
      const { startLocalBerth } = await import('./start');
      await startLocalBerth(await serverSettings(args));
      return;
    }
    case 'server': {
      const settings = await serverSettings(args);
      const { startControlPlane } = await import('../worker/hosts/node/control-plane');
      // A first start with a local database makes the admin key; a shared remote one is an operator's.
      const bootstrapCredentials = !settings.database.url;
      const plane = await startControlPlane({ ...settings, bootstrapCredentials, tls: tlsSettings(args) });
      console.log(`berth: control plane listening on ${plane.url}`);
      if (plane.credentialsFile) {
        console.log(
          `berth: created an admin key in ${plane.credentialsFile} (profile berth): export AWS_SHARED_CREDENTIALS_FILE=${plane.credentialsFile} AWS_PROFILE=berth`,
        );
      }
      const stop = () => void plane.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'agent': {
      const { parseAgentOptions, startAgent } = await import('../agent');
      const agent = await startAgent({
        ...parseAgentOptions(rest, process.env),
        onFatal: (message) => {
          console.error(`berth agent: ${message}`);
          process.exit(3);
        },
      });
      const stop = () => void agent.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'join-tokens': {
      const { runJoinTokens } = await import('./agent-admin');
      await runJoinTokens(args);
      return;
    }
    case 'instances': {
      const { runInstances } = await import('./agent-admin');
      await runInstances(args);
      return;
    }
    case 'audit': {
      const { runAudit } = await import('./audit');
      await runAudit(args);
      return;
    }
    case 'join-token': {
      // `join-token list|revoke` is `join-tokens list|revoke`; `join-token --cluster` mints, as always.
      if (args.positionals[0] === 'list' || args.positionals[0] === 'revoke') {
        const { runJoinTokens } = await import('./agent-admin');
        await runJoinTokens(args);
        return;
      }
      const cluster = flag(args, 'cluster');
      if (!cluster) throw new Error('join-token: --cluster <name> is required');
      const { localDatabase, mintJoinTokenLocally, parseDuration } = await import('./local-database');
      const ttl = flag(args, 'ttl');
      const uses = flag(args, 'uses');
      if (uses !== undefined && !/^[1-9]\d{0,6}$/.test(uses)) {
        throw new Error(`join-token: --uses '${uses}' is not a whole number of at least 1`);
      }
      const limits = {
        ttlMs: ttl === undefined ? undefined : parseDuration(ttl, 'join-token: --ttl'),
        uses: uses === undefined ? undefined : Number(uses),
      };
      // The token is the last line: scripts take it with `tail -1`.
      console.log(await mintJoinTokenLocally(localDatabase(args), cluster, limits));
      return;
    }
    case 'keys': {
      const { runKeys } = await import('./keys');
      await runKeys(args);
      return;
    }
    case 'hooks': {
      const { runHooks } = await import('./hooks');
      await runHooks(args);
      return;
    }
    case 'services': {
      const { runServiceControl } = await import('./service-controls');
      await runServiceControl(args.positionals[0], args);
      return;
    }
    case 'cluster-policy': {
      const { runClusterPolicy } = await import('./cluster-policy');
      await runClusterPolicy(args);
      return;
    }
    case 'subscriptions': {
      const { runSubscriptions } = await import('./subscriptions');
      await runSubscriptions(args);
      return;
    }
    case 'exec': {
      const { runExec } = await import('./task-streams');
      process.exitCode = await runExec(rest);
      return;
    }
    case 'logs': {
      const { runLogs } = await import('./task-streams');
      process.exitCode = await runLogs(rest);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      console.error(`berth: unknown command '${command}'\n\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`berth: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
