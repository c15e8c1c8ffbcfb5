'use strict';
// Shared by the grpc-js interop peers: loads @grpc/grpc-js and the
// grpc.testing protos (tests/matrix/proto) and parses grpc's interop flags.
// The npm packages are installed by the make rules (`npm ci` from the
// committed lock file into build/matrix/node); NODE_PATH points there, or
// CGRPC_NODE_MODULES names the node_modules directory.
const path = require('path');

function load(name) {
  const dir = process.env.CGRPC_NODE_MODULES;
  return require(dir ? path.join(dir, name) : name);
}

const grpc = load('@grpc/grpc-js');
const protoLoader = load('@grpc/proto-loader');

const PROTO_DIR = process.env.CGRPC_MATRIX_PROTO ||
  path.resolve(__dirname, '..', '..', 'proto');

const definition = protoLoader.loadSync('grpc/testing/test.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
});
const testing = grpc.loadPackageDefinition(definition).grpc.testing;

// --name=value or --name (true); grpc's interop booleans are true/false.
function parseFlags(argv, known) {
  const out = {};
  for (const arg of argv) {
    const m = /^--([a-z_]+)(?:=(.*))?$/s.exec(arg);
    if (!m || !(m[1] in known)) {
      throw new Error('unknown argument: ' + arg);
    }
    out[m[1]] = m[2] === undefined ? 'true' : m[2];
  }
  for (const [k, v] of Object.entries(known)) {
    if (!(k in out)) out[k] = v;
  }
  return out;
}

function flagBool(v) {
  const s = String(v).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  throw new Error('not a boolean: ' + v);
}

module.exports = { grpc, testing, parseFlags, flagBool };
