// promptfoo assertions (`type: javascript`, `value: file://../checks.js:<suite>`) that delegate
// to checks.py, the one oracle, in a single long-lived Python process per promptfoo run:
// a `type: python` assertion would start a Python process per case.
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

let worker = null;
let counter = 0;
const pending = new Map();

function start() {
  const python = process.env.PROMPTFOO_PYTHON || 'python3';
  worker = spawn(python, [path.join(__dirname, 'checks.py'), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  readline.createInterface({ input: worker.stdout }).on('line', (line) => {
    const reply = JSON.parse(line);
    const done = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) hold(false);
    if (done) done(reply.result);
  });
  worker.on('exit', (code) => {
    for (const done of pending.values()) {
      done({ pass: false, score: 0, reason: `checks.py exited with ${code}` });
    }
    pending.clear();
    worker = null;
  });
  worker.stdin.unref();
  hold(false);
  process.on('exit', () => worker && worker.kill());
}

// Keep node's event loop alive only while a check is pending: the worker ends with promptfoo.
function hold(busy) {
  if (worker === null) return;
  for (const handle of [worker, worker.stdout]) busy ? handle.ref() : handle.unref();
}

function check(suite) {
  return (output, context) => {
    if (worker === null) start();
    const id = ++counter;
    const request = {
      id,
      suite,
      output,
      context: {
        test: { metadata: (context.test || {}).metadata || {} },
        prompt: context.prompt,
        providerResponse: {
          metadata: (context.providerResponse || {}).metadata || {},
          tokenUsage: (context.providerResponse || {}).tokenUsage || {},
          error: (context.providerResponse || {}).error,
        },
      },
    };
    return new Promise((resolve) => {
      pending.set(id, resolve);
      hold(true);
      worker.stdin.write(JSON.stringify(request) + '\n');
    });
  };
}

module.exports = {
  dr: check('dr'),
  safety: check('safety'),
  resilience: check('resilience'),
  model_path: check('model_path'),
  mcp: check('mcp'),
};
