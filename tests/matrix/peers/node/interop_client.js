'use strict';
// grpc-js interop client for cgrpc's interop matrix: grpc's standard cases
// that need no credentials (doc/interop-test-descriptions.md).
//
//   node interop_client.js --server_host=127.0.0.1 --server_port=N
//        --test_case=CASE[,CASE...] [--use_tls=true --use_test_ca=true
//        --ca_file=F --server_host_override=foo.test.google.fr]
//
// Several cases may be given, comma-separated (saves Node's start-up time);
// each runs on a client (channel) of its own and prints one line,
// `RESULT <case> PASS` or `RESULT <case> FAIL <reason>`.  Exit status 0 only
// if all passed.  Every RPC has a deadline (--rpc_timeout seconds).
const fs = require('fs');
const { grpc, testing, parseFlags, flagBool } = require('./common');

const ECHO_INITIAL = ['x-grpc-test-echo-initial', 'test_initial_metadata_value'];
const ECHO_TRAILING = ['x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab])];
const SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';

class CaseFailed extends Error {}
function check(cond, what) { if (!cond) throw new CaseFailed(what); }
const zeros = (n) => ({ type: 'COMPRESSABLE', body: Buffer.alloc(n) });
const codeName = (c) => Object.keys(grpc.status).find((k) => grpc.status[k] === c) || String(c);

function expectError(err, code, message) {
  check(err, `call succeeded, want ${codeName(code)}`);
  check(err.code === code, `want ${codeName(code)}, got ${codeName(err.code)} (${JSON.stringify(err.details)})`);
  if (message !== undefined) {
    check(err.details === message, `want message ${JSON.stringify(message)}, got ${JSON.stringify(err.details)}`);
  }
}

function unary(client, method, req, opts = {}) {
  return new Promise((resolve) => {
    const md = opts.metadata || new grpc.Metadata();
    let initial = null;
    let trailing = null;
    const call = client[method](req, md, { deadline: opts.deadline }, (err, resp) => {
      // 'status' comes after the callback in grpc-js; wait for it.
      setImmediate(() => resolve({ err, resp, initial, trailing }));
    });
    call.on('metadata', (m) => { initial = m; });
    call.on('status', (s) => { trailing = s.metadata; });
  });
}

// Collects a streaming call's responses, initial metadata and final status.
function collect(call) {
  return new Promise((resolve) => {
    const out = { resps: [], initial: null, status: null, err: null };
    call.on('metadata', (m) => { out.initial = m; });
    call.on('data', (r) => out.resps.push(r));
    call.on('error', (e) => { out.err = e; });
    call.on('status', (s) => { out.status = s; setImmediate(() => resolve(out)); });
  });
}

function hasMd(md, [key, value]) {
  if (!md) return false;
  return md.get(key).some((v) => (Buffer.isBuffer(value) ? Buffer.isBuffer(v) && v.equals(value) : v === value));
}

function makeCases(client, unimpl, rpcTimeout) {
  const dl = () => Date.now() + rpcTimeout;
  const streamReq = (out, inp) => ({
    response_type: 'COMPRESSABLE',
    response_parameters: [{ size: out }],
    payload: zeros(inp),
  });
  const statusCases = async (message, duplex) => {
    const response_status = { code: 2, message };
    const r = await unary(client, 'UnaryCall', { response_status }, { deadline: dl() });
    expectError(r.err, grpc.status.UNKNOWN, message);
    if (duplex) {
      const call = client.FullDuplexCall({ deadline: dl() });
      const done = collect(call);
      call.write({ response_status });
      call.end();
      const out = await done;
      expectError(out.err, grpc.status.UNKNOWN, message);
    }
  };

  return {
    async empty_unary() {
      const r = await unary(client, 'EmptyCall', {}, { deadline: dl() });
      check(!r.err, `error ${r.err && r.err.message}`);
      check(r.resp && Object.keys(r.resp).length === 0, 'response is not Empty');
    },

    async large_unary() {
      const r = await unary(client, 'UnaryCall',
        { response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828) }, { deadline: dl() });
      check(!r.err, `error ${r.err && r.err.message}`);
      const body = r.resp.payload.body;
      check(body.length === 314159, `payload size ${body.length}, want 314159`);
      check(body.equals(Buffer.alloc(314159)), 'payload is not all zeros');
    },

    async client_streaming() {
      const resp = await new Promise((resolve, reject) => {
        const call = client.StreamingInputCall({ deadline: dl() }, (err, r) => (err ? reject(err) : resolve(r)));
        for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
        call.end();
      });
      check(resp.aggregated_payload_size === 74922,
        `aggregated_payload_size ${resp.aggregated_payload_size}, want 74922`);
    },

    async server_streaming() {
      const sizes = [31415, 9, 2653, 58979];
      const call = client.StreamingOutputCall({
        response_type: 'COMPRESSABLE', response_parameters: sizes.map((size) => ({ size })),
      }, { deadline: dl() });
      const out = await collect(call);
      check(!out.err, `error ${out.err && out.err.message}`);
      const got = out.resps.map((r) => r.payload.body.length);
      check(JSON.stringify(got) === JSON.stringify(sizes), `response sizes ${got}, want ${sizes}`);
    },

    async ping_pong() {
      const call = client.FullDuplexCall({ deadline: dl() });
      const steps = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]];
      const responses = [];
      let waiter = null;
      let ended = null;
      call.on('data', (r) => { responses.push(r); if (waiter) { const w = waiter; waiter = null; w(); } });
      call.on('error', () => {});
      const done = new Promise((resolve) => call.on('status', (s) => { ended = s; resolve(s); if (waiter) waiter(); }));
      for (let i = 0; i < steps.length; i++) {
        call.write(streamReq(steps[i][0], steps[i][1]));
        if (responses.length <= i && !ended) await new Promise((r) => { waiter = r; });
        check(responses.length === i + 1, `got ${responses.length} responses after request ${i + 1}` +
          (ended ? ` (call ended: ${codeName(ended.code)} ${ended.details})` : ''));
        const n = responses[i].payload.body.length;
        check(n === steps[i][0], `response ${i + 1} size ${n}, want ${steps[i][0]}`);
      }
      call.end();
      const s = await done;
      check(s.code === grpc.status.OK, `status ${codeName(s.code)} ${s.details}`);
      check(responses.length === 4, `${responses.length} responses, want 4`);
    },

    async empty_stream() {
      const call = client.FullDuplexCall({ deadline: dl() });
      const done = collect(call);
      call.end();
      const out = await done;
      check(!out.err && out.status.code === grpc.status.OK, `status ${codeName(out.status.code)}`);
      check(out.resps.length === 0, `${out.resps.length} responses, want none`);
    },

    async cancel_after_begin() {
      const err = await new Promise((resolve) => {
        const call = client.StreamingInputCall({ deadline: dl() }, (e) => resolve(e));
        call.cancel();
      });
      expectError(err, grpc.status.CANCELLED);
    },

    async cancel_after_first_response() {
      const call = client.FullDuplexCall({ deadline: dl() });
      const out = { n: 0, size: -1, err: null };
      const done = new Promise((resolve) => {
        call.on('data', (r) => {
          out.n += 1;
          if (out.n === 1) { out.size = r.payload.body.length; call.cancel(); }
        });
        call.on('error', (e) => { out.err = e; });
        call.on('status', () => setImmediate(resolve));
      });
      call.write(streamReq(31415, 27182));
      await done;
      check(out.n >= 1, 'no response before the end of the call');
      check(out.size === 31415, `first response size ${out.size}, want 31415`);
      expectError(out.err, grpc.status.CANCELLED);
    },

    async timeout_on_sleeping_server() {
      const call = client.FullDuplexCall({ deadline: Date.now() + 1 });
      const done = collect(call);
      call.write({ payload: zeros(27182) });
      const out = await done;
      expectError(out.err, grpc.status.DEADLINE_EXCEEDED);
    },

    async custom_metadata() {
      const md = () => {
        const m = new grpc.Metadata();
        m.set(ECHO_INITIAL[0], ECHO_INITIAL[1]);
        m.set(ECHO_TRAILING[0], ECHO_TRAILING[1]);
        return m;
      };
      const r = await unary(client, 'UnaryCall',
        { response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828) },
        { deadline: dl(), metadata: md() });
      check(!r.err, `UnaryCall error ${r.err && r.err.message}`);
      check(r.resp.payload.body.length === 314159, `UnaryCall payload size ${r.resp.payload.body.length}`);
      check(hasMd(r.initial, ECHO_INITIAL), 'UnaryCall: initial metadata lacks the echoed entry');
      check(hasMd(r.trailing, ECHO_TRAILING), 'UnaryCall: trailing metadata lacks the echoed entry');

      const call = client.FullDuplexCall(md(), { deadline: dl() });
      const done = collect(call);
      call.write(streamReq(314159, 271828));
      call.end();
      const out = await done;
      check(!out.err, `FullDuplexCall error ${out.err && out.err.message}`);
      const got = out.resps.map((x) => x.payload.body.length);
      check(got.length === 1 && got[0] === 314159, `FullDuplexCall response sizes ${got}`);
      check(hasMd(out.initial, ECHO_INITIAL), 'FullDuplexCall: initial metadata lacks the echoed entry');
      check(hasMd(out.status.metadata, ECHO_TRAILING), 'FullDuplexCall: trailing metadata lacks the echoed entry');
    },

    status_code_and_message: () => statusCases('test status message', true),
    special_status_message: () => statusCases(SPECIAL_MESSAGE, false),

    async unimplemented_method() {
      const r = await unary(client, 'UnimplementedCall', {}, { deadline: dl() });
      expectError(r.err, grpc.status.UNIMPLEMENTED);
    },

    async unimplemented_service() {
      const r = await unary(unimpl, 'UnimplementedCall', {}, { deadline: dl() });
      expectError(r.err, grpc.status.UNIMPLEMENTED);
    },
  };
}

const CASES = ['empty_unary', 'large_unary', 'client_streaming', 'server_streaming', 'ping_pong',
  'empty_stream', 'cancel_after_begin', 'cancel_after_first_response', 'timeout_on_sleeping_server',
  'custom_metadata', 'status_code_and_message', 'special_status_message', 'unimplemented_method',
  'unimplemented_service'];

async function main() {
  const f = parseFlags(process.argv.slice(2), {
    server_host: '127.0.0.1', server_port: '', server_host_override: '', test_case: '',
    use_tls: 'false', use_test_ca: 'false', ca_file: '', rpc_timeout: '10',
  });
  if (!/^\d+$/.test(f.server_port)) throw new Error('--server_port=N is required');
  const names = f.test_case.split(',').filter(Boolean);
  const unknown = names.filter((n) => !CASES.includes(n));
  if (!names.length || unknown.length) throw new Error(`unknown or not allowed test case(s): ${unknown}`);
  const rpcTimeout = Number(f.rpc_timeout) * 1000;
  const host = f.server_host.includes(':') ? `[${f.server_host}]` : f.server_host;
  const target = `${host}:${f.server_port}`;
  const options = {};
  let creds;
  if (flagBool(f.use_tls)) {
    let root = null;
    if (flagBool(f.use_test_ca)) {
      if (!f.ca_file) throw new Error('--use_test_ca needs --ca_file (no built-in test CA here)');
      root = fs.readFileSync(f.ca_file);
    }
    creds = grpc.credentials.createSsl(root);
    if (f.server_host_override) {
      options['grpc.ssl_target_name_override'] = f.server_host_override;
      options['grpc.default_authority'] = f.server_host_override;
    }
  } else {
    creds = grpc.credentials.createInsecure();
  }

  let failed = 0;
  for (const name of names) {
    const client = new testing.TestService(target, creds, options);
    const unimpl = new testing.UnimplementedService(target, creds, options);
    try {
      await makeCases(client, unimpl, rpcTimeout)[name]();
      say(`RESULT ${name} PASS`);
    } catch (e) {
      failed += 1;
      if (!(e instanceof CaseFailed)) console.error(e);
      say(`RESULT ${name} FAIL ${String(e.message).replace(/\n/g, '\\n')}`);
    } finally {
      client.close();
      unimpl.close();
    }
  }
  // Exit now: a failed case may have left a call open until its deadline.
  process.exit(failed ? 1 : 0);
}

// Synchronous, so that nothing is lost when the process exits.
function say(line) { fs.writeSync(1, line + '\n'); }

main().catch((e) => { console.error(e); process.exit(2); });
