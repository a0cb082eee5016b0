// A webhook endpoint that verifies every delivery with the Standard Webhooks reference library.
// Usage: WEBHOOK_SECRET=whsec_... node receiver.mjs   (prints "listening <port>" once ready)
//   POST /hook      verified deliveries are answered 204 and kept; failed ones get 400 and are counted
//   GET  /received  {"verified": [{id, payload}], "failed": [reasons]}
import http from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("set WEBHOOK_SECRET to the endpoint's whsec_ secret");
  process.exit(2);
}
const wh = new Webhook(secret);
const verified = [];
const failed = [];

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/received") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ verified, failed }));
      return;
    }
    if (req.method !== "POST" || req.url !== "/hook") {
      res.writeHead(404).end();
      return;
    }
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const payload = wh.verify(body, req.headers);
      verified.push({ id: req.headers["webhook-id"], payload });
      res.writeHead(204).end();
    } catch (e) {
      failed.push(String(e && e.message ? e.message : e));
      res.writeHead(400).end();
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log("listening " + server.address().port));
