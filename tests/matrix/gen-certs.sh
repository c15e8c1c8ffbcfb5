#!/usr/bin/env bash
# Test PKI for the interop matrix, made at test time (nothing secret is
# committed):
#   DIR/ca.pem                  test CA
#   DIR/server.pem, server.key  server certificate, SANs DNS:*.test.google.fr,
#                               DNS:foo.test.google.fr, IP:127.0.0.1
# Interop clients connect to 127.0.0.1 and claim foo.test.google.fr
# (--server_host_override), as grpc's interop suite does with its own CA.
set -euo pipefail
DIR=${1:?usage: gen-certs.sh DIR}
mkdir -p "$DIR"
cd "$DIR"
[ -f .done ] && exit 0
rm -f ./*.pem ./*.key ./*.csr ./*.ext
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
  -keyout ca.key -out ca.pem -subj "/CN=cgrpc interop matrix test CA" \
  -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr \
  -subj "/CN=*.test.google.fr" 2>/dev/null
cat > server.ext <<'EXT'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:*.test.google.fr, DNS:foo.test.google.fr, IP:127.0.0.1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -sha256 -days 3650 -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl ca.key
openssl verify -CAfile ca.pem server.pem >/dev/null
openssl x509 -in server.pem -noout -ext subjectAltName | grep -q 'DNS:foo.test.google.fr'
chmod 644 ca.pem server.pem
chmod 600 server.key
touch .done
