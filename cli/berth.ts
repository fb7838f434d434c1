/**
 * `berth <command>`: the one command-line entry of the project.
 *   berth start        control plane + a local agent joined to `default` (what `npm start` runs)
 *   berth server       the control plane alone
 *   berth agent        a host agent (see agent/index.ts for its options)
 *   berth join-token   mint a join token for a cluster
 *   berth keys         create, list, deactivate and delete API access keys
 *   berth services     pause, resume, roll back, stop or start a service (Berth's controls)
 *   berth exec         run a command in a task's container (exit code, stdout/stderr apart; -it: a shell)
 *   berth logs         a task container's logs, optionally followed
 * Each command loads only its own code: an agent on a host (and every restart of it) never loads
 * the control plane, which tsx would otherwise transpile on every start.
 */
import { flag, type ParsedArgs, parseArgs } from './args';

const USAGE = `usage: berth <command> [options]

commands:
  start       control plane on 127.0.0.1:8787 plus a local agent joined to cluster "default"
              [--host H] [--port N] [--data-dir DIR]          (env: HOST, PORT, BERTH_DATA_DIR)
  server      the control plane alone, same options plus [--database-url URL --database-token T]
  agent       a host agent: --endpoint URL --cluster NAME --join-token T [--attribute k=v ...]
              [--cpu UNITS] [--memory MiB] [--state-dir DIR] [--reserved-ports 22,2375,...]
  join-token  mint a join token: --cluster NAME [--ttl 90s|15m|24h (default 24h)] [--uses N]
              [--data-dir DIR | --database-url URL]
  keys        create --name N --policy admin|read-only|deployer:CLUSTER|FILE.json | list |
              delete ID | activate ID | deactivate ID  [--endpoint URL] (env: BERTH_ENDPOINT,
              signed with the standard AWS credential chain)
  services    pause|resume|rollback|stop|start --service NAME [--cluster NAME] [--revision ARN]
              [--endpoint URL]                                 (env: BERTH_ENDPOINT)
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
      const plane = await startControlPlane({ ...settings, bootstrapCredentials });
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
      const agent = await startAgent(parseAgentOptions(rest, process.env));
      const stop = () => void agent.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'join-token': {
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
    case 'services': {
      const { runServiceControl } = await import('./service-controls');
      await runServiceControl(args.positionals[0], args);
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
