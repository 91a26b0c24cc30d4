// An independent MCP client: the official TypeScript SDK lists agentkit's tools and calls them.
// node mcp_ts_client.mjs SDK_DIR stdio|http TARGET CALLS.json
//   TARGET: the Python executable (stdio: it runs `-m agentkit mcp serve`) or the server URL.
// Prints {"tools": [...], "results": [...]} as JSON; the SDK itself checks every
// structuredContent against the tool's outputSchema and fails the call when it does not match.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [sdk, mode, target, callsFile] = process.argv.slice(2);
const load = (module) => import(pathToFileURL(`${sdk}/dist/esm/client/${module}.js`).href);
const { Client } = await load("index");

let transport;
if (mode === "stdio") {
  const { StdioClientTransport } = await load("stdio");
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_")),
  );
  transport = new StdioClientTransport({
    command: target,
    args: ["-m", "agentkit", "mcp", "serve"],
    env,
    stderr: "ignore",
  });
} else {
  const { StreamableHTTPClientTransport } = await load("streamableHttp");
  transport = new StreamableHTTPClientTransport(new URL(target));
}

const client = new Client({ name: "agentkit-test-ts-client", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const results = [];
for (const [name, args] of JSON.parse(readFileSync(callsFile, "utf8"))) {
  const result = await client.callTool({ name, arguments: args });
  results.push({ name, isError: result.isError ?? false, structuredContent: result.structuredContent ?? null,
                 text: (result.content ?? []).map((c) => c.text ?? "").join("\n") });
}
await client.close();
process.stdout.write(JSON.stringify({ tools: listed.tools, results }));
