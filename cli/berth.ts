/**
 * `berth <command>`: the one command-line entry of the project.
 *   berth start        control plane + a local agent joined to `default` (what `npm start` runs)
 *   berth server       the control plane alone
 *   berth agent        a host agent (see agent/index.ts for its options)
 *   berth join-token   mint a join token for a cluster
 */
import { parseAgentOptions, startAgent } from '../agent';
import { startControlPlane } from '../worker/hosts/node/control-plane';
import { flag, type ParsedArgs, parseArgs } from './args';
import { localDatabase, mintJoinTokenLocally } from './local-database';
import { startLocalBerth } from './start';

const USAGE = `usage: berth <command> [options]

commands:
  start       control plane on 127.0.0.1:8787 plus a local agent joined to cluster "default"
              [--host H] [--port N] [--data-dir DIR]          (env: HOST, PORT, BERTH_DATA_DIR)
  server      the control plane alone, same options plus [--database-url URL --database-token T]
  agent       a host agent: --endpoint URL --cluster NAME --join-token T [--attribute k=v ...]
              [--cpu UNITS] [--memory MiB] [--state-dir DIR] [--reserved-ports 22,2375,...]
  join-token  mint a join token: --cluster NAME [--data-dir DIR | --database-url URL]
`;

function serverSettings(args: ParsedArgs) {
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
    case 'start':
      await startLocalBerth(serverSettings(args));
      return;
    case 'server': {
      const settings = serverSettings(args);
      const plane = await startControlPlane(settings);
      console.log(`berth: control plane listening on ${plane.url}`);
      const stop = () => void plane.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'agent': {
      const agent = await startAgent(parseAgentOptions(rest, process.env));
      const stop = () => void agent.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'join-token': {
      const cluster = flag(args, 'cluster');
      if (!cluster) throw new Error('join-token: --cluster <name> is required');
      console.log(await mintJoinTokenLocally(localDatabase(args), cluster));
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
