#!/usr/bin/env bash
# Makes a CA and one certificate per node for mutual TLS between Mesh nodes,
# with the openssl command. Usage: make-certs.sh DIR NODE...
# DIR gets ca.pem, ca.key and NODE.pem + NODE.key for each NODE (signed by
# the CA, valid 30 days, EC P-256). Idempotent for the CA: an existing
# ca.pem is reused, so certificates can be added later. Running it again
# for a node replaces that node's key and certificate (a rotation: running
# nodes use them for their next connections). MESH_CA_NAME names a new CA
# (default mesh-example-ca): a second CA for a rotation needs a name of its
# own, or a bundle of both cannot tell their certificates apart.
set -euo pipefail
dir=$1; shift
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 30 -subj "/CN=${MESH_CA_NAME:-mesh-example-ca}" 2>/dev/null
fi
for node in "$@"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$node.key" -out "$node.csr" -subj "/CN=$node" 2>/dev/null
  openssl x509 -req -in "$node.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$node.pem" -days 30 2>/dev/null
  rm -f "$node.csr"
done
chmod 600 ./*.key
