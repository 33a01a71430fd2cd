// Reference hub for the chat fan-out benchmark (issue 6, BENCHMARKS.md): a WebSocket room written the
// way the original Node.js LiveStreamer did it. One process, rooms in memory, the `ws` package, and
// `JSON.stringify` of the whole `{event, data}` frame once per recipient.
//
//   node server.js [PORT]          (default 29490, on 127.0.0.1)
//
//   GET  /ws/{broadcastId}                       a socket in that room: chat:client_list to it,
//                                                chat:new_client and chat:client_count to the others
//   POST /api/v1/broadcasts/{id}/messages        {message} -> 201 {results: ChatMessage}, and
//                                                chat:created_message to every socket of the room
//
// NODE_HUB_PRESENCE=full (default) tells the room of every join and leave, as the original did (2 frames
// to every socket per join: O(N²) frames to fill a room); =list only sends the newcomer the list.
//
// There is no database and no broker: the message goes from the request straight to the sockets, so
// this is a lower bound of what the original's path cost.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 29490);
const rooms = new Map(); // broadcastId -> Map(ws -> client)
let nextMessageId = 1;
const roomPresence = (process.env.NODE_HUB_PRESENCE || 'full') === 'full';

function broadcast(room, event, data, except) {
  const members = rooms.get(room);
  if (!members) return;
  for (const ws of members.keys()) {
    if (ws === except || ws.readyState !== ws.OPEN) continue;
    ws.send(JSON.stringify({ event, data }));
  }
}

const server = http.createServer((req, res) => {
  const match = /^\/api\/v1\/broadcasts\/(\d+)\/messages$/.exec(req.url);
  if (req.method !== 'POST' || !match) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 404, statusText: 'NotFound', message: 'no such route' }));
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    let text;
    try {
      text = JSON.parse(body).message;
    } catch {
      text = undefined;
    }
    if (typeof text !== 'string' || text.trim() === '') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 400, statusText: 'BadRequest', message: 'message required' }));
      return;
    }
    const room = Number(match[1]);
    const message = {
      messageId: nextMessageId++,
      broadcastId: room,
      userId: 1,
      username: 'bench',
      createdAt: new Date().toISOString(),
      message: text,
      likedByUserId: [],
    };
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ results: message }));
    broadcast(room, 'chat:created_message', message);
  });
});

const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

server.on('upgrade', (req, socket, head) => {
  const match = /^\/ws\/(\d+)$/.exec(req.url);
  if (!match) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const room = Number(match[1]);
    const client = { uuid: crypto.randomUUID(), username: null, profilePictureUrl: null };
    let members = rooms.get(room);
    if (!members) {
      members = new Map();
      rooms.set(room, members);
    }
    members.set(ws, client);
    ws.isAlive = true;
    ws.on('pong', () => {
      ws.isAlive = true;
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
      if (!roomPresence) return;
      broadcast(room, 'chat:deleted_client', { uuid: client.uuid, userId: null, username: null });
      broadcast(room, 'chat:client_count', { count: members.size });
    });
    ws.send(JSON.stringify({ event: 'chat:client_list', data: [...members.values()] }));
    ws.send(JSON.stringify({ event: 'stream:state', data: { isStreaming: false } }));
    if (!roomPresence) return;
    broadcast(room, 'chat:new_client', client, ws);
    broadcast(room, 'chat:client_count', { count: members.size });
  });
});

// Ping every 30 s; a socket that did not answer the previous ping is dropped (as ours does).
const pinger = setInterval(() => {
  for (const members of rooms.values()) {
    for (const ws of members.keys()) {
      if (!ws.isAlive) {
        ws.terminate();
        continue;
      }
      ws.isAlive = false;
      ws.ping();
    }
  }
}, 30000);

function stop() {
  clearInterval(pinger);
  for (const members of rooms.values()) for (const ws of members.keys()) ws.close(1001, 'server going away');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.listen(port, '127.0.0.1', () => {
  console.log(`node hub listening on 127.0.0.1:${port} (pid ${process.pid})`);
});
