// A sessionful MCP server (protocol 2025-11-25) over Streamable HTTP that sends messages of its own
// on its GET stream, built on the official MCP TypeScript SDK: the real-server stand-in for an
// upstream whose server-initiated messages the gateway must relay. Its GET stream is resumable
// (every event has an id; Last-Event-ID replays what came after). Tools:
//   deploy {service}        "deployed SERVICE"; its description is what "redescribe" set last
//   announce {text}         sends notifications/message with TEXT on the GET stream
//   redescribe {description} changes deploy's description: notifications/tools/list_changed
//   drop_stream {text}      closes the GET stream, then sends TEXT: only a resumed stream gets it
//   stream_requests         the Last-Event-ID of every GET so far (null where there was none), as JSON
//   ask_roots               sends roots/list to the client on the GET stream
//   last_roots              the roots the client answered with, as JSON
// Usage: node notifying-server.mjs [PORT]; prints "listening on PORT".
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** Events in the order they were stored, so that a replay is exact. */
class OrderedEventStore {
  events = [];

  async storeEvent(streamId, message) {
    const id = `${streamId}:${this.events.length + 1}`;
    this.events.push({ id, streamId, message });
    return id;
  }

  async getStreamIdForEventId(id) {
    return this.events.find((e) => e.id === id)?.streamId;
  }

  async replayEventsAfter(lastEventId, { send }) {
    const at = this.events.findIndex((e) => e.id === lastEventId);
    if (at < 0) return "";
    const streamId = this.events[at].streamId;
    for (const e of this.events.slice(at + 1))
      if (e.streamId === streamId && e.message.jsonrpc) await send(e.id, e.message);
    return streamId;
  }
}

const sessions = new Map();
let deployDescription = "Deploys a service";

function session(transport) {
  const s = { transport, lastEventIds: [], roots: null };
  const server = new McpServer(
    { name: "notifying", version: "1.0.0" },
    { capabilities: { logging: {}, tools: { listChanged: true } } },
  );
  const say = (text) => server.server.notification({ method: "notifications/message", params: { level: "info", data: text } });
  const text = (t) => ({ content: [{ type: "text", text: t }] });
  const deploy = server.registerTool(
    "deploy",
    { description: deployDescription, inputSchema: { service: z.string() } },
    async ({ service }) => text(`deployed ${service}`),
  );
  server.registerTool("announce", { inputSchema: { text: z.string() } }, async ({ text: t }) => {
    await say(t);
    return text("announced");
  });
  server.registerTool("redescribe", { inputSchema: { description: z.string() } }, async ({ description }) => {
    deployDescription = description;
    deploy.update({ description }); // sends notifications/tools/list_changed
    return text("redescribed");
  });
  server.registerTool("drop_stream", { inputSchema: { text: z.string() } }, async ({ text: t }) => {
    transport.closeStandaloneSSEStream();
    await say(t);
    return text("dropped");
  });
  server.registerTool("stream_requests", {}, async () => text(JSON.stringify(s.lastEventIds)));
  server.registerTool("ask_roots", {}, async () => {
    setImmediate(async () => {
      s.roots = (await server.server.listRoots()).roots; // no related request: on the GET stream
    });
    return text("asked");
  });
  server.registerTool("last_roots", {}, async () => text(JSON.stringify(s.roots)));
  s.server = server;
  return s;
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
}

const http = createServer(async (req, res) => {
  const id = req.headers["mcp-session-id"];
  const known = id === undefined ? undefined : sessions.get(id);
  if (req.method === "POST") {
    const message = await body(req);
    if (known) return known.transport.handleRequest(req, res, message);
    if (id !== undefined || !isInitializeRequest(message)) {
      res.writeHead(id === undefined ? 400 : 404).end();
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new OrderedEventStore(),
      onsessioninitialized: (sid) => sessions.set(sid, s),
    });
    transport.onclose = () => sessions.delete(transport.sessionId);
    const s = session(transport);
    await s.server.connect(transport);
    return transport.handleRequest(req, res, message);
  }
  if (!known) {
    res.writeHead(id === undefined ? 400 : 404).end();
    return;
  }
  if (req.method === "GET") known.lastEventIds.push(req.headers["last-event-id"] ?? null);
  return known.transport.handleRequest(req, res);
});

http.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${http.address().port}`);
});
