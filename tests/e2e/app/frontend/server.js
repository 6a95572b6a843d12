"use strict";
// Stand-in frontend (nginx serving the SPA in the real image): GET /health -> 200, anything else -> the SPA's html.
const http = require("http");
const html = "<!doctype html><html><head><title>FreshTrack Pro</title></head><body><div id=\"root\">FreshTrack Pro (e2e stand-in)</div></body></html>\n";
const server = http.createServer((req, res) => {
  if ((req.url || "").split("?")[0] === "/health") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("ok\n");
  }
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end(html);
});
server.listen(8080, "0.0.0.0");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
process.on("SIGQUIT", () => server.close(() => process.exit(0)));
