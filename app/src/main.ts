import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { ConfigError, loadConfig } from "./config";

// Starts the HTTP server only: database migrations run as a separate one-off task
// (`npx prisma migrate deploy`), never at container start.
function main(): void {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`startup failed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

  const startedAt = new Date();
  let shuttingDown = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (shuttingDown) {
      res.setHeader("connection", "close"); // no keep-alive once shutdown has begun
    }
    if (req.method === "GET" && (req.url === "/api/health" || req.url?.startsWith("/api/health?"))) {
      const body = JSON.stringify({ status: "ok", uptimeSeconds: Math.round(process.uptime()), startedAt });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(body);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  });
  // Longer than the ALB's 60 s idle timeout, so the load balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  server.listen(config.port, () => console.log(`listening on port ${config.port}`));

  // ECS sends SIGTERM, waits stopTimeout (30 s), then SIGKILL: finish in-flight requests first.
  const shutdown = (signal: string) => {
    if (shuttingDown) {
      return;
    }
    shuttingDown = true;
    console.log(`${signal} received, closing server`);
    server.close(() => process.exit(0));
    // close() stops accepting and drops idle keep-alive sockets; a socket whose request is still
    // running turns idle only after its response, so keep dropping idle sockets until the end.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 250).unref();
    setTimeout(() => {
      console.error("shutdown: requests still open after 25 s, exiting");
      process.exit(1);
    }, 25_000).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main();
