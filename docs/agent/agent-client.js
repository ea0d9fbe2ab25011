// A tokenkit agent client over its Unix socket: Node's standard library only.
//
//   node agent-client.js /path/to/tokenkit-agent.sock ac-east
//
// prints two JSON lines: the agent's answer to the token request, then its answer to
// the refusal report of that token (the renewed token).

"use strict";

const http = require("node:http");

class AgentError extends Error {
  constructor(status, error) {
    super(`${status} ${error.kind}: ${error.message}`);
    this.status = status;
    this.kind = error.kind; // what to do: see docs/agent.md
    this.error = error;
  }
}

// The agent's JSON answer to one request; rejects with AgentError for an error answer.
// The timeout is above the agent's wait_ms (10 s by default).
function answer(socketPath, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { "Tokenkit-Agent": "1" };
    if (data !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(data);
    }
    const request = http.request(
      { socketPath, method, path, headers, timeout: 15000 },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          try {
            const decoded = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            if (response.statusCode >= 400) {
              reject(new AgentError(response.statusCode, decoded.error || {}));
            } else {
              resolve(decoded);
            }
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error("the agent did not answer")));
    request.on("error", reject);
    request.end(data);
  });
}

const grantPath = (grant, action) =>
  `/v1/grants/${encodeURIComponent(grant)}/${action}`;

// The grant's current access token.
async function token(socketPath, grant) {
  return (await answer(socketPath, "GET", grantPath(grant, "token"))).access_token;
}

// The platform refused `refusedToken`: the renewed token (renewed once for all
// callers; if another caller already did, the current one).
async function refused(socketPath, grant, refusedToken) {
  const body = { token: refusedToken };
  return (await answer(socketPath, "POST", grantPath(grant, "refused"), body)).access_token;
}

// `call(token)` with the grant's token; if `isRefusal(result)`, once more with the
// renewed token.
async function withToken(socketPath, grant, call, isRefusal) {
  const current = await token(socketPath, grant);
  const result = await call(current);
  if (!(await isRefusal(result))) {
    return result;
  }
  return call(await refused(socketPath, grant, current));
}

module.exports = { AgentError, answer, token, refused, withToken };

if (require.main === module) {
  const [socketPath, grant] = process.argv.slice(2);
  (async () => {
    const first = await answer(socketPath, "GET", grantPath(grant, "token"));
    console.log(JSON.stringify(first));
    const body = { token: first.access_token };
    console.log(JSON.stringify(await answer(socketPath, "POST", grantPath(grant, "refused"), body)));
  })().catch((error) => {
    console.error(error.error ? JSON.stringify({ error: error.error }) : String(error));
    process.exit(1);
  });
}
