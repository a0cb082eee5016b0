// A stateless MCP server (protocol revision 2026-07-28, and 2025-era requests through the SDK's
// stateless fallback) over Streamable HTTP, built on the official MCP TypeScript SDK v2: the
// real-server stand-in for an upstream the gateway relays stateless-form requests to. Tools: "echo"
// (a read; sends a progress notification first when the call asks for progress, so that its answer
// is an SSE stream), "regional_echo" (a read whose "region" argument the revision's x-mcp-header
// mirrors into an Mcp-Param-Region header, which the SDK checks against the body), "write_note" (a
// write) and "list_notes" (what was written, to check that a refused write never ran).
// Usage: node stateless-notes.mjs [PORT]; prints "listening on PORT".
import { createServer } from "node:http";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import * as z from "zod";

const notes = [];

function notesServer() {
  const server = new McpServer({ name: "stateless-notes", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echoes a message back", inputSchema: { message: z.string() } },
    async ({ message }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      if (token !== undefined)
        await ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: token, progress: 1, message: "echoing" },
        });
      return { content: [{ type: "text", text: `echo: ${message}` }] };
    },
  );
  server.registerTool(
    "write_note",
    { description: "Writes a note", inputSchema: { text: z.string() } },
    async ({ text }) => {
      notes.push(text);
      return { content: [{ type: "text", text: `noted: ${text}` }] };
    },
  );
  server.registerTool(
    "regional_echo",
    {
      description: "Echoes a message back from a region; the region is mirrored into the Mcp-Param-Region header",
      inputSchema: { region: z.string().meta({ "x-mcp-header": "Region" }), message: z.string() },
    },
    async ({ region, message }) => ({ content: [{ type: "text", text: `${region}: ${message}` }] }),
  );
  server.registerTool("list_notes", { description: "Lists the notes written so far" }, async () => ({
    content: [{ type: "text", text: JSON.stringify(notes) }],
  }));
  return server;
}

const handler = createMcpHandler(notesServer);

// node:http in front of the SDK's web-standard handler.
const http = createServer(async (req, res) => {
  const body = [];
  for await (const chunk of req) body.push(chunk);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  const aborted = new AbortController();
  res.on("close", () => aborted.abort());
  const response = await handler.fetch(
    new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(body),
      signal: aborted.signal,
    }),
  );
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
});

http.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${http.address().port}`);
});
