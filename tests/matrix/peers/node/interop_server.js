'use strict';
// grpc-js interop server for cgrpc's interop matrix: grpc.testing.TestService
// as grpc's interop-test-descriptions.md asks of a server (echo of
// metadata and status, interval_us).  UnimplementedCall is not provided, so
// grpc-js answers it with UNIMPLEMENTED.
//
//   node interop_server.js --port=N [--bind_host=127.0.0.1]
//        [--use_tls=true --tls_cert_file=F --tls_key_file=F]
//
// Listens on 127.0.0.1 unless told otherwise; stops on SIGTERM/SIGINT.
const fs = require('fs');
const { grpc, testing, parseFlags, flagBool } = require('./common');

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

function echoMetadata(call) {
  const initial = new grpc.Metadata();
  for (const v of call.metadata.get(ECHO_INITIAL)) initial.add(ECHO_INITIAL, v);
  if (initial.get(ECHO_INITIAL).length) call.sendMetadata(initial);
  const trailing = new grpc.Metadata();
  for (const v of call.metadata.get(ECHO_TRAILING)) trailing.add(ECHO_TRAILING, v);
  return trailing;
}

function payload(size) {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function statusError(echo, trailing) {
  return { code: echo.code, details: echo.message, metadata: trailing };
}

const sleep = (us) => new Promise((r) => setTimeout(r, us / 1000));

// Writes the responses asked for by one StreamingOutputCallRequest, in order.
async function writeResponses(call, req) {
  for (const p of req.response_parameters) {
    if (p.interval_us > 0) await sleep(p.interval_us);
    if (call.cancelled) return;
    call.write({ payload: payload(p.size) });
  }
}

const impl = {
  EmptyCall(call, cb) {
    cb(null, {}, echoMetadata(call));
  },

  UnaryCall(call, cb) {
    const trailing = echoMetadata(call);
    const req = call.request;
    if (req.response_status && req.response_status.code !== 0) {
      return cb(statusError(req.response_status, trailing));
    }
    if (req.response_type !== 'COMPRESSABLE') {
      return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'unsupported response_type', metadata: trailing });
    }
    if (req.expect_compressed && req.expect_compressed.value) {
      return cb({ code: grpc.status.INVALID_ARGUMENT,
        details: 'expect_compressed is not supported by this server', metadata: trailing });
    }
    cb(null, { payload: payload(req.response_size) }, trailing);
  },

  CacheableUnaryCall(call, cb) {
    cb(null, { payload: { type: 'COMPRESSABLE', body: Buffer.from(String(process.hrtime.bigint())) } },
      echoMetadata(call));
  },

  StreamingInputCall(call, cb) {
    const trailing = echoMetadata(call);
    let total = 0;
    call.on('data', (req) => { total += req.payload ? req.payload.body.length : 0; });
    call.on('end', () => cb(null, { aggregated_payload_size: total }, trailing));
    call.on('error', () => {});
  },

  StreamingOutputCall(call) {
    const trailing = echoMetadata(call);
    const req = call.request;
    if (req.response_status && req.response_status.code !== 0) {
      call.emit('error', statusError(req.response_status, trailing));
      return;
    }
    writeResponses(call, req).then(() => { if (!call.cancelled) call.end(trailing); });
  },

  FullDuplexCall(call) {
    const trailing = echoMetadata(call);
    let chain = Promise.resolve();
    let failed = false;
    call.on('data', (req) => {
      chain = chain.then(async () => {
        if (failed || call.cancelled) return;
        if (req.response_status && req.response_status.code !== 0) {
          failed = true;
          call.emit('error', statusError(req.response_status, trailing));
          return;
        }
        await writeResponses(call, req);
      });
    });
    call.on('end', () => {
      chain = chain.then(() => { if (!failed && !call.cancelled) call.end(trailing); });
    });
    call.on('error', () => {});
  },

  HalfDuplexCall(call) {
    const trailing = echoMetadata(call);
    const reqs = [];
    call.on('data', (req) => reqs.push(req));
    call.on('end', async () => {
      for (const req of reqs) {
        if (req.response_status && req.response_status.code !== 0) {
          call.emit('error', statusError(req.response_status, trailing));
          return;
        }
      }
      for (const req of reqs) await writeResponses(call, req);
      if (!call.cancelled) call.end(trailing);
    });
    call.on('error', () => {});
  },
};

function main() {
  const f = parseFlags(process.argv.slice(2), {
    port: '', bind_host: '127.0.0.1', use_tls: 'false', tls_cert_file: '', tls_key_file: '',
  });
  if (!/^\d+$/.test(f.port)) throw new Error('--port=N is required');
  let creds;
  const tls = flagBool(f.use_tls);
  if (tls) {
    if (!f.tls_cert_file || !f.tls_key_file) throw new Error('--use_tls needs --tls_cert_file and --tls_key_file');
    creds = grpc.ServerCredentials.createSsl(null, [{
      private_key: fs.readFileSync(f.tls_key_file),
      cert_chain: fs.readFileSync(f.tls_cert_file),
    }], false);
  } else {
    creds = grpc.ServerCredentials.createInsecure();
  }
  const server = new grpc.Server({ 'grpc.so_reuseport': 0 });
  server.addService(testing.TestService.service, impl);
  const host = f.bind_host.includes(':') ? `[${f.bind_host}]` : f.bind_host;
  server.bindAsync(`${host}:${f.port}`, creds, (err, port) => {
    if (err || port !== Number(f.port)) {
      console.error('cannot listen on', f.bind_host, f.port, err ? err.message : port);
      process.exit(1);
    }
    console.log(`grpc-js interop server listening on ${f.bind_host}:${port} tls=${tls}`);
  });
  const stop = () => {
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
