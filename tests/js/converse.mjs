// Calls the emulator with the AWS SDK for JavaScript v3 and its default request handler
// (HTTP/2 for Bedrock Runtime). Usage: node converse.mjs ENDPOINT REGION
// Prints one JSON line: the handler used, the converse answer, and the streamed text.
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";

const [endpoint, region] = process.argv.slice(2);
const client = new BedrockRuntimeClient({
  endpoint,
  region,
  credentials: { accessKeyId: "AKIAEMULATOR00000000", secretAccessKey: "emulator" },
  maxAttempts: 1,
});
const input = {
  modelId: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
  messages: [{ role: "user", content: [{ text: "hello from javascript" }] }],
  inferenceConfig: { maxTokens: 64 },
};
const answer = await client.send(new ConverseCommand(input));
const stream = await client.send(new ConverseStreamCommand(input));
let streamed = "";
let stopReason = null;
for await (const event of stream.stream) {
  if (event.contentBlockDelta?.delta?.text) streamed += event.contentBlockDelta.delta.text;
  if (event.messageStop) stopReason = event.messageStop.stopReason;
}
console.log(
  JSON.stringify({
    handler: client.config.requestHandler.constructor.name,
    text: answer.output.message.content[0].text,
    stopReason: answer.stopReason,
    usage: answer.usage,
    streamed,
    streamStopReason: stopReason,
  }),
);
client.destroy();
