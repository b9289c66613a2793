#!/usr/bin/env bash
# scripts/dev-certs.sh as the demo and the tests use it: the CA and the
# default identities, their SANs, EKU and key type read back with
# `openssl x509 -text`, the chain and key checks, idempotence (a second run
# changes no byte), --dns, --expired, a second CA that the first does not
# trust, and errors that name the bad value. Prints "ok: ..." per check and
# fails on the first one that does not hold.
#
#   tests/integration/dev_certs_test.sh [path/to/dev-certs.sh]
set -euo pipefail

script=${1:-"$(dirname "$0")/../../scripts/dev-certs.sh"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }
# The SAN line of DIR/tls.crt as openssl prints it.
sans() { openssl x509 -in "$1/tls.crt" -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//'; }
# True when DIR/tls.key is the key of DIR/tls.crt.
key_matches() {
  [[ "$(openssl pkey -in "$1/tls.key" -pubout)" == \
    "$(openssl x509 -in "$1/tls.crt" -noout -pubkey)" ]]
}
ips="IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"

# --- a fresh directory: the CA and the seven default identities ------------
out=$tmp/certs
"$script" "$out" >"$tmp/stdout" 2>"$tmp/stderr" || fail "dev-certs.sh failed: $(cat "$tmp/stderr")"
[[ ! -s "$tmp/stdout" && ! -s "$tmp/stderr" ]] ||
  fail "dev-certs.sh printed something on success: $(cat "$tmp/stdout" "$tmp/stderr")"
ok "a successful run prints nothing"

[[ -s "$out/ca.crt" && -s "$out/ca.key" ]] || fail "no $out/ca.crt or ca.key"
ca_text=$(openssl x509 -in "$out/ca.crt" -noout -text)
grep -q "CA:TRUE" <<<"$ca_text" || fail "ca.crt is not a CA certificate"
grep -q "Certificate Sign" <<<"$ca_text" || fail "ca.crt may not sign certificates"
ok "the CA is a CA"

for n in coordinator notifier worker node-agent admin operator viewer; do
  d=$out/$n
  for f in ca.crt tls.crt tls.key; do
    [[ -s "$d/$f" ]] || fail "$d/$f missing or empty"
  done
  cmp -s "$d/ca.crt" "$out/ca.crt" || fail "$d/ca.crt is not the CA's certificate"
  [[ "$(stat -c %a "$d/tls.key")" == 600 ]] || fail "$d/tls.key is readable by others"
  text=$(openssl x509 -in "$d/tls.crt" -noout -text)
  san=$(sans "$d")
  want="URI:spiffe://goalkeeper/$n, DNS:localhost, $ips"
  [[ "$san" == "$want" ]] || fail "$n: SANs are '$san'"
  grep -q "TLS Web Server Authentication, TLS Web Client Authentication" <<<"$text" ||
    fail "$n: EKU is not serverAuth+clientAuth"
  grep -q "CA:FALSE" <<<"$text" || fail "$n: the leaf is not marked CA:FALSE"
  grep -q "NIST CURVE: P-256" <<<"$text" || fail "$n: the key is not ECDSA P-256"
  grep -q "Subject: O = Goalkeeper development, CN = $n" <<<"$text" || fail "$n: subject"
  openssl verify -CAfile "$out/ca.crt" "$d/tls.crt" >/dev/null || fail "$n: does not verify"
  key_matches "$d" || fail "$n: tls.key is not the key of tls.crt"
  openssl x509 -in "$d/tls.crt" -noout -checkend $((300 * 86400)) >/dev/null ||
    fail "$n: expires within 300 days (default --days is 365)"
done
ok "seven identities with SAN URI/DNS/IP, EKU serverAuth+clientAuth, P-256, chained to the CA"

# --- idempotent ---------------------------------------------------------------
(cd "$out" && find . -type f | LC_ALL=C sort | xargs md5sum) >"$tmp/before"
"$script" "$out"
(cd "$out" && find . -type f | LC_ALL=C sort | xargs md5sum) >"$tmp/after"
diff "$tmp/before" "$tmp/after" >/dev/null ||
  fail "a second run changed files: $(diff "$tmp/before" "$tmp/after")"
ok "a second run changes nothing"

# A missing key (or a leaf of another CA) is repaired, the others are kept.
rm "$out/viewer/tls.key"
"$script" "$out"
openssl verify -CAfile "$out/ca.crt" "$out/viewer/tls.crt" >/dev/null || fail "viewer not repaired"
key_matches "$out/viewer" || fail "viewer: repaired key does not match"
grep -v ' ./viewer/' "$tmp/before" | (cd "$out" && md5sum -c --quiet -) ||
  fail "repairing viewer changed the other identities"
ok "a broken identity is replaced, the others kept"

# --- --dns --------------------------------------------------------------------
svc=goalkeeper-coordinator.goalkeeper.svc
"$script" --dns goalkeeper-coordinator --dns "$svc" "$out" coordinator
san=$(sans "$out/coordinator")
want="URI:spiffe://goalkeeper/coordinator, DNS:localhost, DNS:goalkeeper-coordinator"
want+=", DNS:$svc, $ips"
[[ "$san" == "$want" ]] || fail "--dns: SANs are '$san'"
openssl verify -CAfile "$out/ca.crt" "$out/coordinator/tls.crt" >/dev/null || fail "--dns: no chain"
grep ' ./ca.crt$' "$tmp/before" | (cd "$out" && md5sum -c --quiet -) || fail "the CA changed"
ok "--dns adds SAN DNS names and keeps the CA"

# --- --expired ----------------------------------------------------------------
"$script" --expired "$out" worker-expired
openssl x509 -in "$out/worker-expired/tls.crt" -noout -checkend 0 >/dev/null &&
  fail "--expired: the certificate is still valid"
not_before=$(openssl x509 -in "$out/worker-expired/tls.crt" -noout -startdate | cut -d= -f2)
[[ $(date -u -d "$not_before" +%s) -lt $(date -u +%s) ]] ||
  fail "--expired: notBefore in the future"
verify_out=$(openssl verify -CAfile "$out/ca.crt" "$out/worker-expired/tls.crt" 2>&1 || true)
grep -q "certificate has expired" <<<"$verify_out" || fail "--expired: verify says '$verify_out'"
openssl verify -no_check_time -CAfile "$out/ca.crt" "$out/worker-expired/tls.crt" >/dev/null ||
  fail "--expired: not signed by the same CA"
ok "--expired gives a certificate of the same CA that is valid in the past only"

# --- another CA ---------------------------------------------------------------
"$script" "$tmp/other" worker
cmp -s "$tmp/other/ca.crt" "$out/ca.crt" && fail "two directories share a CA"
openssl verify -CAfile "$out/ca.crt" "$tmp/other/worker/tls.crt" >/dev/null 2>&1 &&
  fail "a certificate of another CA verifies against the first"
ok "a second directory has its own CA, not trusted by the first"

# --- errors name the bad value --------------------------------------------------
expect_error() {
  local want=$1
  shift
  if "$script" "$@" >"$tmp/err-out" 2>&1; then fail "dev-certs.sh $* succeeded"; fi
  grep -qF -- "$want" "$tmp/err-out" ||
    fail "dev-certs.sh $*: '$(cat "$tmp/err-out")' lacks '$want'"
}
expect_error "'abc'" --days abc "$tmp/x"
expect_error "'bad name'" --dns "bad name" "$tmp/x"
expect_error "'Bad/Name'" "$tmp/x" "Bad/Name"
expect_error "--nope" --nope "$tmp/x"
expect_error "usage"
mkdir -p "$tmp/half" && cp "$out/ca.crt" "$tmp/half/ca.crt"
expect_error "only one of ca.crt and ca.key" "$tmp/half"
ok "bad flags and names are refused with the value named"

echo "PASS"
