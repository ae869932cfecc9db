#!/usr/bin/env bash
# Create the development Secrets in namespace livebus (values never live in the repository):
#   livebus-gateway      api-keys (one server key a line), token-secret (signs ephemeral tokens)
#   gemini-api           api-key: what the bridges send upstream (the emulator accepts it)
#   gemini-emulator-tls  tls.crt, tls.key, ca.crt: a throwaway CA and the emulator's certificate
# Prints the gateway's server key. Needs kubectl and openssl.
set -euo pipefail
ns=${NAMESPACE:-livebus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apply() { kubectl -n "$ns" create secret generic "$@" --dry-run=client -o yaml | kubectl apply -f -; }

kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
openssl rand -hex 24 > api-keys
openssl rand -hex 32 > token-secret
openssl rand -hex 24 > gemini-key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj "/CN=livebus dev CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=gemini-emulator" \
  -keyout tls.key -out tls.csr 2>/dev/null
printf 'subjectAltName=DNS:gemini-emulator,DNS:gemini-emulator.%s.svc,DNS:gemini-emulator.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$ns" "$ns" > ext.cnf
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
  -extfile ext.cnf -out tls.crt 2>/dev/null

apply livebus-gateway --from-file=api-keys --from-file=token-secret
apply gemini-api --from-file=api-key=gemini-key
apply gemini-emulator-tls --from-file=tls.crt --from-file=tls.key --from-file=ca.crt
echo "gateway server key: $(cat api-keys)"
