// A small MCP server (stdio) that writes every message it receives, as one JSON line, to a file the
// test reads: the real-server stand-in for an upstream whose every input the test must see (how often
// a tool call reached it, which notifications did). Built on the official MCP TypeScript SDK; the
// record is taken as the transport hands a message to the SDK, so it holds what the SDK would ignore
// too. Its one tool, "work", answers "worked LABEL" after SECONDS (0 if not given): slow on demand;
// given a progress token, it sends one progress notification with the same text just before.
// Usage: node recording-server.mjs LOG_FILE
import { appendFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const log = process.argv[2];
const server = new Server({ name: "recording", version: "1.0.0" }, { capabilities: { tools: {} } });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    {
      name: "work",
      description: "Works for a number of seconds, then answers with the label",
      inputSchema: {
        type: "object",
        properties: { label: { type: "string" }, seconds: { type: "number" } },
        required: ["label"],
      },
    },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const { label, seconds = 0 } = request.params.arguments ?? {};
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  // With a progress token, one progress notification when done, naming the label: whose it is shows.
  const progressToken = request.params._meta?.progressToken;
  if (progressToken !== undefined) {
    await extra.sendNotification({
      method: "notifications/progress",
      params: { progressToken, progress: 1, total: 1, message: `worked ${label}` },
    });
  }
  return { content: [{ type: "text", text: `worked ${label}` }] };
});

const transport = new StdioServerTransport();
await server.connect(transport);
// Written synchronously before the SDK sees the message: once a later request has been answered,
// everything sent before it is in the file.
const toServer = transport.onmessage;
transport.onmessage = (message, extra) => {
  appendFileSync(log, JSON.stringify(message) + "\n");
  toServer(message, extra);
};
