/**
 * The floor for fanin: a bare `ws` server that echoes every message, in its own process, so its
 * memory and CPU per idle connection can be read the same way as the control plane's.
 * Prints `listening <port>` once ready. Run as `node --import tsx bench/hollow/echo-server.ts`.
 */
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.on('listening', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : address}`);
});
process.once('SIGTERM', () => process.exit(0));
