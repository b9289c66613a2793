#!/usr/bin/env bash
# Makes a development CA and one certificate per fleet identity, for the demo,
# the tests and the cluster test (never for production: the CA key sits next
# to the certificates).
#
#   scripts/dev-certs.sh [--days N] [--dns NAME]... [--expired] OUT_DIR [NAME...]
#
# OUT_DIR/ca.crt, OUT_DIR/ca.key: the CA (ECDSA P-256), kept when present.
# OUT_DIR/NAME/{ca.crt,tls.crt,tls.key} per NAME (default: coordinator
# notifier worker node-agent admin operator viewer), the layout of a
# kubernetes.io/tls Secret, i.e. what --tls-dir reads. Each certificate has
# SAN URI spiffe://goalkeeper/NAME, SAN DNS localhost and every --dns NAME,
# SAN IP 127.0.0.1 and ::1, EKU serverAuth+clientAuth, an ECDSA P-256 key.
#   --days N   leaf lifetime in days (default 365)
#   --dns NAME an extra SAN DNS name (repeatable), e.g. goalkeeper-coordinator
#   --expired  the leaves are valid in the past only (for tests of refusal)
#
# Idempotent: a NAME whose certificate still verifies against OUT_DIR/ca.crt,
# has exactly the requested SANs, is (not) expired as asked and has more than
# a tenth of --days left is kept untouched; otherwise it is replaced by
# renaming a fresh directory into place (key and certificate change
# together, which is what a reloading server needs). Prints nothing but
# errors. Uses the openssl command line only.
set -euo pipefail

usage() {
  echo "usage: $0 [--days N] [--dns NAME]... [--expired] OUT_DIR [NAME...]" >&2
  exit 2
}

days=365
expired=0
dns=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --days)
      [[ $# -ge 2 ]] || usage
      [[ "$2" =~ ^[1-9][0-9]{0,4}$ ]] || {
        echo "$0: --days: '$2' is not a whole number of days (1..99999)" >&2
        exit 2
      }
      days=$2
      shift 2
      ;;
    --dns)
      [[ $# -ge 2 ]] || usage
      [[ "$2" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]] || {
        echo "$0: --dns: '$2' is not a DNS name" >&2
        exit 2
      }
      dns+=("$2")
      shift 2
      ;;
    --expired)
      expired=1
      shift
      ;;
    --help | -h) usage ;;
    --*)
      echo "$0: unknown flag '$1'" >&2
      usage
      ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || usage
out=$1
shift
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  names=(coordinator notifier worker node-agent admin operator viewer)
fi
for n in "${names[@]}"; do
  [[ "$n" =~ ^[a-z0-9]([a-z0-9.-]{0,62})$ ]] || {
    echo "$0: NAME '$n' must be lower-case letters, digits, '.' and '-' (it becomes" \
      "spiffe://goalkeeper/$n and a directory name)" >&2
    exit 2
  }
done

mkdir -p "$out"
umask 077
work=$(mktemp -d "$out/.dev-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs openssl quietly: its chatter goes to a file that is shown only when it
# fails.
ossl() {
  if ! openssl "$@" >"$work/openssl.log" 2>&1; then
    echo "$0: openssl $1 failed:" >&2
    cat "$work/openssl.log" >&2
    exit 1
  fi
}

# --- the CA --------------------------------------------------------------
if [[ -e "$out/ca.crt" || -e "$out/ca.key" ]]; then
  [[ -r "$out/ca.crt" && -r "$out/ca.key" ]] || {
    echo "$0: $out has only one of ca.crt and ca.key: remove it or restore the other" >&2
    exit 1
  }
else
  ca_days=$((days > 3650 ? days : 3650))
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key"
  ossl req -x509 -new -key "$work/ca.key" -sha256 -days "$ca_days" \
    -subj "/O=Goalkeeper development/CN=Goalkeeper development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$work/ca.crt"
  chmod 600 "$work/ca.key"
  chmod 644 "$work/ca.crt"
  mv "$work/ca.key" "$out/ca.key"
  mv "$work/ca.crt" "$out/ca.crt"
fi

# The SAN entries of a certificate, one per line, sorted (openssl's spelling:
# "URI:...", "DNS:...", "IP Address:...").
sans_of() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
    tail -n +2 | tr ',' '\n' | sed 's/^ *//; /^$/d' | LC_ALL=C sort
}

# The SAN entries asked for NAME, in the same spelling.
wanted_sans() {
  {
    echo "URI:spiffe://goalkeeper/$1"
    echo "DNS:localhost"
    for d in "${dns[@]+"${dns[@]}"}"; do echo "DNS:$d"; done
    echo "IP Address:127.0.0.1"
    echo "IP Address:0:0:0:0:0:0:0:1"
  } | LC_ALL=C sort -u
}

# True when OUT_DIR/NAME can stay as it is.
up_to_date() {
  local dir=$out/$1
  [[ -r "$dir/tls.crt" && -r "$dir/tls.key" && -r "$dir/ca.crt" ]] || return 1
  cmp -s "$dir/ca.crt" "$out/ca.crt" || return 1
  openssl verify -no_check_time -CAfile "$out/ca.crt" "$dir/tls.crt" >/dev/null 2>&1 || return 1
  [[ "$(sans_of "$dir/tls.crt")" == "$(wanted_sans "$1")" ]] || return 1
  # The key belongs to the certificate.
  [[ "$(openssl pkey -in "$dir/tls.key" -pubout 2>/dev/null)" == \
    "$(openssl x509 -in "$dir/tls.crt" -noout -pubkey 2>/dev/null)" ]] || return 1
  if [[ $expired -eq 1 ]]; then
    ! openssl x509 -in "$dir/tls.crt" -noout -checkend 0 >/dev/null 2>&1
  else
    # Valid now, and more than a tenth of the lifetime left.
    local not_before
    not_before=$(openssl x509 -in "$dir/tls.crt" -noout -startdate | cut -d= -f2)
    [[ $(date -u -d "$not_before" +%s) -le $(date -u +%s) ]] || return 1
    openssl x509 -in "$dir/tls.crt" -noout -checkend $((days * 8640)) >/dev/null 2>&1
  fi
}

# openssl ca's bookkeeping, in the scratch directory (serials are random).
mkdir -p "$work/ca-db"
: >"$work/ca-db/index.txt"
cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = dev
[dev]
dir = $work/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir
rand_serial = yes
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
EOF

for n in "${names[@]}"; do
  up_to_date "$n" && continue
  leaf=$work/leaf-$n
  mkdir -p "$leaf"
  {
    echo "basicConstraints = critical,CA:FALSE"
    echo "keyUsage = critical,digitalSignature"
    echo "extendedKeyUsage = serverAuth,clientAuth"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
    echo "subjectAltName = @san"
    echo "[san]"
    echo "URI.1 = spiffe://goalkeeper/$n"
    echo "DNS.1 = localhost"
    i=2
    for d in "${dns[@]+"${dns[@]}"}"; do
      echo "DNS.$i = $d"
      i=$((i + 1))
    done
    echo "IP.1 = 127.0.0.1"
    echo "IP.2 = ::1"
  } >"$leaf/ext.cnf"
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$leaf/tls.key"
  ossl req -new -key "$leaf/tls.key" -subj "/O=Goalkeeper development/CN=$n" -out "$leaf/req.csr"
  if [[ $expired -eq 1 ]]; then
    # Valid for --days, ending a day ago.
    start=$(date -u -d "-$((days + 1)) days" +%Y%m%d%H%M%SZ)
    end=$(date -u -d "-1 day" +%Y%m%d%H%M%SZ)
  else
    # Backdated a minute: clocks of the peers may differ slightly.
    start=$(date -u -d "-1 minute" +%Y%m%d%H%M%SZ)
    end=$(date -u -d "+$days days" +%Y%m%d%H%M%SZ)
  fi
  ossl ca -batch -notext -config "$work/ca.cnf" -cert "$out/ca.crt" -keyfile "$out/ca.key" \
    -startdate "$start" -enddate "$end" -extfile "$leaf/ext.cnf" \
    -in "$leaf/req.csr" -out "$leaf/tls.crt"
  rm -f "$leaf/ext.cnf" "$leaf/req.csr"
  cp "$out/ca.crt" "$leaf/ca.crt"
  chmod 600 "$leaf/tls.key"
  chmod 644 "$leaf/tls.crt" "$leaf/ca.crt"
  chmod 755 "$leaf"
  # Swap the whole directory so that key and certificate change together.
  if [[ -e "$out/$n" ]]; then
    mv "$out/$n" "$work/old-$n"
  fi
  mv "$leaf" "$out/$n"
done
