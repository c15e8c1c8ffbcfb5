#!/usr/bin/env bash
# Generates the TLS test PKI into DIR (default build/test-certs) with the
# openssl command: nothing secret is committed.
#   ca.pem              test CA
#   server.pem/.key     SANs localhost, 127.0.0.1, ::1, foo.test.google.fr
#   client.pem/.key     client certificate (CN cgrpc-test-client)
#   expired.pem/.key    server certificate that expired in 2020
#   otherhost.pem/.key  valid, but only for other.example
#   other-ca.pem        an unrelated CA
#   other-client.pem/.key  client certificate from the unrelated CA
set -euo pipefail
DIR=${1:-build/test-certs}
mkdir -p "$DIR"
cd "$DIR"
[ -f .done ] && exit 0
umask 077

ca() { # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 3650 -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() { # name subject san-list ca [extra openssl ca args]
  local name=$1 subj=$2 san=$3 signer=$4
  shift 4
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  mkdir -p "db-$signer"
  : > "db-$signer/index.txt"
  [ -f "db-$signer/serial" ] || echo 1000 > "db-$signer/serial"
  cat > "$name.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = db-$signer/index.txt
serial = db-$signer/serial
new_certs_dir = .
certificate = $signer.pem
private_key = $signer.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
CNF
  openssl ca -batch -config "$name.cnf" -extensions ext -in "$name.csr" \
    -out "$name.pem" -notext "$@" 2>/dev/null
  rm -f "$name.csr" "$name.cnf"
}

ca ca "/CN=cgrpc test CA"
ca other-ca "/CN=some other CA"
leaf server "/CN=cgrpc-test-server" \
  "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:*.test.google.fr" ca -days 3650
leaf client "/CN=cgrpc-test-client" "DNS:client.cgrpc.test,URI:spiffe://cgrpc/test-client" ca -days 3650
leaf expired "/CN=cgrpc-expired" "DNS:localhost,IP:127.0.0.1" ca \
  -startdate 20200101000000Z -enddate 20200102000000Z
leaf otherhost "/CN=other.example" "DNS:other.example" ca -days 3650
leaf other-client "/CN=intruder" "DNS:intruder.example" other-ca -days 3650
rm -rf db-ca db-other-ca ./*.pem.old 2>/dev/null || true
rm -f [0-9A-F][0-9A-F]*.pem
chmod 644 ./*.pem
touch .done
