#!/usr/bin/env bash
# The end-to-end suite proper. Runs as PID 1 of fresh network, mount and PID
# namespaces (tests/e2e/run.sh starts it with unshare): only loopback exists,
# every change under /etc, /run and /var is a mount private to this namespace,
# and every process started here dies with it.
#
# usage: suite.sh WORK_DIR HELPER MOTO_SERVER
set -uo pipefail

T=$1
HELPER_REAL=$2
MOTO=$3
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOGS=$T/logs
RESULTS=$T/results.tsv
LIMIT=${E2E_CLIENT_TIMEOUT:-90} # seconds any one client run may take
# The docker CLI: run.sh picks Debian's /usr/bin/docker (docker.io), not the
# first `docker` on PATH, so that the CLI under test is the one Debian users
# have (see run.sh).
DOCKER=${E2E_DOCKER:-docker}
DOCKER_VERSION=$("$DOCKER" --version 2>&1 | head -n 1)
mkdir -p "$LOGS" "$T/tmp"
: >"$RESULTS"

# Registries: two ECR accounts, one ECR account whose registry does not accept
# what the API issues, and a registry that is not ECR at all. Their addresses
# are TEST-NET-1 addresses on the loopback interface, not 127.0.0.0/8: the
# docker CLI treats every registry resolving into 127.0.0.0/8 as insecure (no
# certificate check, plain-HTTP fallback), which would make its TLS vacuous.
# One more name, LB, serves registry I again on 127.0.0.15 to show exactly that.
A=111111111111.dkr.ecr.us-east-1.amazonaws.com A_IP=192.0.2.11 A_PW=111111111111-auth-token
B=333333333333.dkr.ecr.eu-west-1.amazonaws.com B_IP=192.0.2.12 B_PW=333333333333-auth-token
C=444444444444.dkr.ecr.us-west-2.amazonaws.com C_IP=192.0.2.13 C_PW=not-what-the-api-issues
I=registry.internal.test I_IP=192.0.2.14 I_USER=internal I_PW=internal-e2e-secret
LB=loopback-registry.internal.test LB_IP=127.0.0.15
REPO='' MDIG='' KIND='' K='' # the image the cases read, and their names' suffix: use_kind sets them
MOTO_PORT=5000
FAKE_PORT=5001
KEY_ID=AKIAIOSFODNN7EXAMPLE # moto's default account 123456789012: the caller
SECRET=e2e/not+a+real/secret+key0123456789abcdef

# --- reporting ---------------------------------------------------------------
say() { printf '%s\n' "$*"; }

record() { # STATUS GROUP NAME [DETAIL]
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$RESULTS"
    printf '%-5s %-9s %s%s\n' "$1" "$2" "$3" "${4:+  [$4]}"
}

die() { # MESSAGE [LOG]: a set-up step failed; nothing after it can run
    record FAIL setup "$1"
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/    | /'
    say "e2e: set-up failed, stopping"
    exit 1
}

show() { # FILE: the end of a log, indented
    [ -s "$1" ] && tail -n "${2:-25}" "$1" | sed "s/^/    | /"
    return 0
}

# check GROUP NAME CMD...: a verification run in the suite's own environment
check() {
    local group=$1 name=$2
    shift 2
    if "$@" >"$LOGS/check.out" 2>&1; then
        record PASS "$group" "$name"
    else
        record FAIL "$group" "$name" "$(tail -n 5 "$LOGS/check.out" | tr '\n' ' ')"
    fi
}

# --- API call accounting ----------------------------------------------------
API_MODE=moto # moto | fake | none: which API server the helper talks to now
SYNC=0
api_count() {
    case $API_MODE in
    moto) grep -c '"POST ' "$LOGS/moto.log" || true ;;
    fake) if [ -f "$T/fake-calls.txt" ]; then wc -l <"$T/fake-calls.txt"; else echo 0; fi ;;
    *) echo 0 ;;
    esac
}
# moto writes its access log line after answering: make it write a marker and
# wait for it, so every earlier request is counted (the fake counts first).
api_sync() {
    [ "$API_MODE" = moto ] || return 0
    SYNC=$((SYNC + 1))
    curl -s -m 5 -o /dev/null "http://127.0.0.1:$MOTO_PORT/e2e-sync-$SYNC" || true
    local _
    for _ in $(seq 400); do
        grep -q "e2e-sync-$SYNC " "$LOGS/moto.log" && return 0
        sleep 0.05
    done
    say "warning: moto never logged sync marker $SYNC; API counts may be short"
}

declare -A N_RUNS N_API
PHASES=()
note_phase() { [[ " ${PHASES[*]} " == *" $1/$2 "* ]] || PHASES+=("$1/$2"); }

# Helper invocations seen by the counting wrapper: PHASE CLIENT [HOST-REGEX]
helper_gets() {
    awk -F'\t' -v p="$1" -v c="$2" -v h="${3:-.}" \
        '$1 == p && $2 == c && $3 == "get" && $4 ~ h { n++ } END { print n + 0 }' "$T/counter.tsv"
}
# GetAuthorizationToken calls the helper logged: PHASE CLIENT
helper_api_calls() {
    local f="$LOGS/helper-$1-$2.log"
    if [ -f "$f" ]; then grep -c 'calling GetAuthorizationToken' "$f" || true; else echo 0; fi
}

# judge GROUP NAME EXPECT RC OUT HELPER_LOG
#   EXPECT: ok | ok:REGEX | fail:REGEX (a non-zero exit that is not a timeout,
#   with REGEX in the output) | observe:REGEX (success, or a failure matching
#   REGEX: records which; anything else fails)
#   With OCI_REFUSAL_OK=1 (docker_inspect sets it), an expected success
#   (ok:… or observe:…) may also be the docker CLI's "no such manifest": the
#   registry refused an OCI manifest to a CLI that did not ask for one; that
#   sets OCI_REFUSED=1 and, for observe:, OBSERVED=yes.
OBSERVED=""
OCI_REFUSAL_OK=0
OCI_REFUSED=0
judge() {
    local group=$1 name=$2 expect=$3 rc=$4 out=$5 hlog=$6 why="" note=""
    OBSERVED=""
    OCI_REFUSED=0
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        why="no answer within ${LIMIT}s (a hang)"
    elif [ "$OCI_REFUSAL_OK" = 1 ] && [ "$rc" -ne 0 ] && [[ $expect == ok* || $expect == observe:* ]] &&
        grep -q '^no such manifest: ' "$out"; then
        OCI_REFUSED=1
        note=", this CLI does not read OCI manifests"
        [[ $expect == observe:* ]] && OBSERVED=yes
    else
        case $expect in
        ok) [ "$rc" -eq 0 ] || why="exit $rc, expected success" ;;
        ok:*)
            if [ "$rc" -ne 0 ]; then
                why="exit $rc, expected success"
            elif ! grep -Eq -- "${expect#ok:}" "$out"; then
                why="output lacks /${expect#ok:}/"
            fi
            ;;
        fail:*)
            if [ "$rc" -eq 0 ]; then
                why="succeeded, expected a failure"
            elif ! grep -Eiq -- "${expect#fail:}" "$out"; then
                why="exit $rc, but the output lacks /${expect#fail:}/"
            fi
            ;;
        observe:*)
            if [ "$rc" -eq 0 ]; then
                OBSERVED=yes
            elif grep -Eiq -- "${expect#observe:}" "$out"; then
                OBSERVED=no
            else
                why="exit $rc, neither success nor /${expect#observe:}/"
            fi
            ;;
        esac
    fi
    if [ -z "$why" ]; then
        record PASS "$group" "$name" "exit $rc${OBSERVED:+, works: $OBSERVED}$note"
        return 0
    fi
    record FAIL "$group" "$name" "$why"
    say "    client output ($out):"
    show "$out"
    if [ -s "$hlog" ]; then
        say "    helper log ($hlog):"
        show "$hlog" 10
    fi
    return 1
}

# client PHASE CLIENT NAME EXPECT [VAR=VALUE...] -- CMD...
# Runs CMD bounded by $LIMIT in a clean environment (BASE_ENV, then the
# VAR=VALUEs), counts what it cost, and judges it.
client() {
    local phase=$1 who=$2 name=$3 expect=$4
    shift 4
    local extra=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        extra+=("$1")
        shift
    done
    shift
    local slug
    slug=$(printf '%s' "$phase-$who-$name" | tr -c 'A-Za-z0-9._-' '_')
    local out=$LOGS/$slug.out hlog=$LOGS/helper-$phase-$who.log
    local api0 rc=0
    api0=$(api_count)
    timeout -k 5 "$LIMIT" env -i "${BASE_ENV[@]}" E2E_PHASE="$phase" E2E_CLIENT="$who" E2E_CASE="$name" \
        AWS_ECR_LOG_FILE="$hlog" "${extra[@]}" "$@" >"$out" 2>&1 || rc=$?
    api_sync
    note_phase "$phase" "$who"
    N_RUNS[$phase/$who]=$((${N_RUNS[$phase/$who]:-0} + 1))
    N_API[$phase/$who]=$((${N_API[$phase/$who]:-0} + $(api_count) - api0))
    LAST_OUT=$out
    judge "$who" "$phase: $name" "$expect" "$rc" "$out" "$hlog"
}

# podman with private storage per case (every pull downloads for real); the
# paths stay short: podman refuses a runroot longer than 50 characters.
PODMAN_N=0
podman_cmd() { # -> PODMAN array
    PODMAN_N=$((PODMAN_N + 1))
    local d=$T/p/$PODMAN_N
    mkdir -p "$d/tmp"
    PODMAN=(podman --root "$d/root" --runroot "$d/run" --tmpdir "$d/tmp"
        --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
}
# podman_pull PHASE NAME EXPECT REF [VAR=VALUE...] [-- PULL-FLAGS...]
# Pulls REF, then prints its digest (image inspect never calls the helper).
podman_pull() {
    local phase=$1 name=$2 expect=$3 ref=$4
    shift 4
    local vars=() flags=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    flags=("$@")
    podman_cmd
    client "$phase" podman "$name" "$expect" "${vars[@]}" -- \
        bash -c 'ref=$1 n=$2; shift 2; flags=("${@:1:n}"); shift "$n"
                 "$@" pull --quiet "${flags[@]}" "$ref" && "$@" image inspect --format "digest={{.Digest}}" "$ref"' \
        _ "$ref" "${#flags[@]}" "${flags[@]}" "${PODMAN[@]}"
}

# docker_inspect PHASE NAME EXPECT HOST [VAR=VALUE...] [-- GLOBAL-FLAGS...]
# docker manifest inspect HOST/$REPO. An older docker CLI's manifest inspect
# (20.10, Debian bookworm's docker.io; 28.x does) does not ask for OCI manifests:
# the registry authenticates the request, then answers 404 "OCI manifest found,
# but accept header does not support OCI manifests". Reading the OCI image, an
# expected success may end so; the registry's log must then show that refusal,
# to this case's user (the credentials were accepted), or the case fails.
OCI_NOT_ASKED='OCI manifest found, but accept header does not support OCI manifests'
oci_refusals() { # REGISTRY USER: how many OCI refusals the registry logged to USER
    grep -F "err.message=\"$OCI_NOT_ASKED\"" "$LOGS/registry-$1.log" | grep -cF "auth.user.name=$2 " || true
}
oci_refused_to() { # REGISTRY USER BEFORE: one more OCI refusal to USER is logged
    local _
    for _ in $(seq 50); do
        [ "$(oci_refusals "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.1
    done
    echo "registry-$1.log: no new '$OCI_NOT_ASKED' for user $2"
    return 1
}
docker_inspect() {
    local phase=$1 name=$2 expect=$3 host=$4
    shift 4
    local vars=() flags=() reg user r0=0
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    flags=("$@")
    case $host in
    "$A") reg=a user=AWS ;;
    "$B") reg=b user=AWS ;;
    "$C") reg=c user=AWS ;;
    "$I") reg=i user=$I_USER ;;
    "$LB") reg=lb user=$I_USER ;;
    *) die "docker_inspect: unknown host $host" ;;
    esac
    [ "$KIND" = oci ] && OCI_REFUSAL_OK=1 && r0=$(oci_refusals "$reg" "$user")
    local rc=0
    client "$phase" docker "$name" "$expect" "${vars[@]}" -- "$DOCKER" "${flags[@]}" manifest inspect "$host/$REPO" || rc=$?
    OCI_REFUSAL_OK=0
    if [ "$OCI_REFUSED" = 1 ]; then
        OCI_READ[no]=$((${OCI_READ[no]:-0} + 1))
        check docker "$phase: $name: registry $reg accepted user $user, refused only the OCI manifest" \
            oci_refused_to "$reg" "$user" "$r0"
    elif [ "$KIND" = oci ] && [ "$rc" -eq 0 ] && [[ $expect == ok* ]]; then
        OCI_READ[yes]=$((${OCI_READ[yes]:-0} + 1))
    fi
    return 0
}
declare -A OCI_READ # docker_inspect cases of the OCI image the CLI read (yes) or was refused (no)

# ===========================================================================
say "== set-up"

# --- the namespace: loopback only; private /etc files, /run, /var ----------
mount --make-rprivate / || die "mount --make-rprivate /"
ip link set lo up || die "ip link set lo up"
for ip in "$A_IP" "$B_IP" "$C_IP" "$I_IP"; do
    ip addr add "$ip/32" dev lo || die "ip addr add $ip/32 dev lo"
done
mount -t tmpfs -o mode=0755 tmpfs /run || die "tmpfs on /run"
mount -t tmpfs -o mode=1777 tmpfs /var/tmp || die "tmpfs on /var/tmp"
# skopeo (as root) keeps its blob-info cache in /var/lib/containers/cache
mount -t tmpfs -o mode=0755 tmpfs /var/lib || die "tmpfs on /var/lib"
if ip -o link | grep -v ': lo:' | grep -q .; then die "an interface other than lo exists"; fi

mkdir -p "$T/etc"
cat >"$T/etc/hosts" <<EOF
127.0.0.1 localhost
::1 localhost
$A_IP $A
$B_IP $B
$C_IP $C
$I_IP $I
$LB_IP $LB
EOF
echo "nameserver 127.0.0.1" >"$T/etc/resolv.conf" # nothing answers: no lookup leaves
mount --bind "$T/etc/hosts" /etc/hosts || die "bind /etc/hosts"
mount --bind "$T/etc/resolv.conf" /etc/resolv.conf || die "bind /etc/resolv.conf"
[ -d /etc/containers ] || die "/etc/containers is missing (Debian package containers-common)"
[ -d /etc/docker ] || die "/etc/docker is missing (Debian package docker-registry creates it)"
cp -a /etc/containers "$T/etc/containers" && cp -a /etc/docker "$T/etc/docker" || die "copy /etc/containers, /etc/docker"
rm -rf "$T/etc/containers/certs.d" "$T/etc/docker/certs.d"
cat >"$T/etc/containers/policy.json" <<'EOF'
{ "default": [ { "type": "insecureAcceptAnything" } ] }
EOF
mount --bind "$T/etc/containers" /etc/containers || die "bind /etc/containers"
mount --bind "$T/etc/docker" /etc/docker || die "bind /etc/docker"
[ "$(getent hosts "$A" | awk '{print $1}')" = "$A_IP" ] || die "$A does not resolve to $A_IP"

# --- a test CA and a certificate per registry ------------------------------
P=$T/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/ca.key" -out "$P/ca.crt" -days 2 -subj "/CN=ecr-login e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$LOGS/openssl.log" 2>&1 || die "openssl: CA" "$LOGS/openssl.log"
for h in "$A" "$B" "$C" "$I"; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$P/$h.key" -out "$P/$h.csr" -subj "/CN=$h" >>"$LOGS/openssl.log" 2>&1 &&
        san="DNS:$h" && { [ "$h" != "$I" ] || san="$san,DNS:$LB"; } &&
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$san" >"$P/$h.ext" &&
        openssl x509 -req -in "$P/$h.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
            -days 2 -extfile "$P/$h.ext" -out "$P/$h.crt" >>"$LOGS/openssl.log" 2>&1 ||
        die "openssl: certificate for $h" "$LOGS/openssl.log"
    mkdir -p "$P/certs.d/$h" && cp "$P/ca.crt" "$P/certs.d/$h/ca.crt"
done
cat /etc/ssl/certs/ca-certificates.crt "$P/ca.crt" >"$P/bundle.crt" || die "CA bundle"

# --- registries ---------------------------------------------------------------
bcrypt_line() { # USER PASSWORD
    if command -v htpasswd >/dev/null; then
        htpasswd -nbB "$1" "$2" | head -n 1
    else
        python3 -c 'import bcrypt, sys; print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt()).decode())' "$1" "$2"
    fi
}
start_registry() { # NAME HOST IP USER PASSWORD [DATA-OF]
    local d=$T/reg/$1
    mkdir -p "$d"
    if [ -n "${6:-}" ]; then ln -s "$T/reg/$6/data" "$d/data"; else mkdir -p "$d/data"; fi
    bcrypt_line "$4" "$5" >"$d/htpasswd" || die "htpasswd for $2"
    cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: $3:443
  secret: e2e-secret-$1
  tls:
    certificate: $P/$2.crt
    key: $P/$2.key
auth:
  htpasswd:
    realm: $2
    path: $d/htpasswd
EOF
    docker-registry serve "$d/config.yml" >"$LOGS/registry-$1.log" 2>&1 &
}
start_registry a "$A" "$A_IP" AWS "$A_PW"
start_registry b "$B" "$B_IP" AWS "$B_PW"
start_registry c "$C" "$C_IP" AWS "$C_PW"
start_registry i "$I" "$I_IP" "$I_USER" "$I_PW"
start_registry lb "$I" "$LB_IP" "$I_USER" "$I_PW" i # registry I again, at 127.0.0.15

# --- moto (the ECR and STS API) and the fake ECR for the warm round ---------
"$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
python3 "$HERE/fake_ecr.py" "$FAKE_PORT" "$T/fake-calls.txt" >"$LOGS/fake-ecr.log" 2>&1 &

wait_for() { # WHAT LOG CMD...: readiness, polled for up to 60 s
    local _
    for _ in $(seq 600); do
        "${@:3}" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "$1 did not come up" "$2"
}
for r in a:$A b:$B c:$C i:$I lb:$LB; do
    wait_for "registry $r" "$LOGS/registry-${r%%:*}.log" \
        bash -c '[ "$(curl -s -m 2 -o /dev/null -w "%{http_code}" --cacert "$1" "https://$2/v2/")" = 401 ]' _ "$P/ca.crt" "${r#*:}"
done
wait_for moto "$LOGS/moto.log" curl -sf -m 2 "http://127.0.0.1:$MOTO_PORT/moto-api/"
wait_for "fake ECR" "$LOGS/fake-ecr.log" curl -s -m 2 -o /dev/null "http://127.0.0.1:$FAKE_PORT/"
record PASS setup "namespace, CA, 4 registries, moto and fake ECR up"
say "docker CLI: $DOCKER ($DOCKER_VERSION)"

# --- a tiny OCI image, built by hand ----------------------------------------
IMG=$T/img
mkdir -p "$IMG/rootfs" "$IMG/layout/blobs/sha256"
echo "hello from the docker-credential-ecr-login e2e suite" >"$IMG/rootfs/hello.txt"
ARCH=$(uname -m)
case $ARCH in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; esac
blob() { # FILE -> digest (hex); stores the file as a blob
    local d
    d=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$IMG/layout/blobs/sha256/$d"
    echo "$d"
}
tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$IMG/rootfs" -cf "$IMG/layer.tar" hello.txt || die "tar"
DIFF_ID=$(sha256sum "$IMG/layer.tar" | cut -d' ' -f1)
gzip -n -c "$IMG/layer.tar" >"$IMG/layer.tar.gz"
LDIG=$(blob "$IMG/layer.tar.gz")
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"tests/e2e/suite.sh"}]}' \
    "$ARCH" "$DIFF_ID" >"$IMG/config.json"
CDIG=$(blob "$IMG/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
    "$CDIG" "$(stat -c %s "$IMG/config.json")" "$LDIG" "$(stat -c %s "$IMG/layer.tar.gz")" >"$IMG/manifest.json"
MDIG=$(blob "$IMG/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"1.0"}}]}' \
    "$MDIG" "$(stat -c %s "$IMG/manifest.json")" >"$IMG/layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$IMG/layout/oci-layout"

# The image is pushed twice, in both kinds of manifest registries hold: Docker
# schema 2 (what the classic docker push writes; converted by skopeo, same
# config and layer blobs, another manifest digest) and OCI (what buildah and
# podman build by default; the manifest above, byte for byte). Every case that reads an image runs against
# both (use_kind): the manifest inspect of bookworm's docker CLI (20.10) reads
# only the first.
KINDS=(v2s2 oci)
declare -A KIND_REPO=([v2s2]=team/app:1.0-v2s2 [oci]=team/app:1.0-oci)
declare -A KIND_MEDIA=(
    [v2s2]=application/vnd.docker.distribution.manifest.v2+json
    [oci]=application/vnd.oci.image.manifest.v1+json
)
declare -A KIND_MDIG=([oci]=$MDIG)
# Pushed with explicit credentials and an explicit CA: nothing of the set-up
# under test is involved.
push() { # HOST USER PASSWORD KIND
    local dig=$T/digest-$4-$1 got
    env -i PATH="$PATH" HOME="$T/home-push" TMPDIR="$T/tmp" \
        timeout -k 5 "$LIMIT" skopeo copy --quiet --format "$4" --digestfile "$dig" \
        --dest-creds "$2:$3" --dest-cert-dir "$P/certs.d/$1" \
        "oci:$IMG/layout:1.0" "docker://$1/${KIND_REPO[$4]}" >"$LOGS/push-$1-$4.log" 2>&1 ||
        die "push $4 to $1" "$LOGS/push-$1-$4.log"
    got=$(cat "$dig") && got=${got#sha256:}
    [ -n "${KIND_MDIG[$4]:-}" ] || KIND_MDIG[$4]=$got
    [ "$got" = "${KIND_MDIG[$4]}" ] || die "push $4 to $1: manifest sha256:$got, expected sha256:${KIND_MDIG[$4]}"
}
for kind in "${KINDS[@]}"; do
    push "$A" AWS "$A_PW" "$kind"
    push "$B" AWS "$B_PW" "$kind"
    push "$C" AWS "$C_PW" "$kind"
    push "$I" "$I_USER" "$I_PW" "$kind"
done
record PASS setup "image pushed to all 4 registries as v2s2 sha256:${KIND_MDIG[v2s2]:0:12}… and oci sha256:${KIND_MDIG[oci]:0:12}…"
stored_manifest_is() { # KIND: registry A serves KIND's manifest: its digest, media type, blobs
    local m
    m=$(env -i PATH="$PATH" HOME="$T/home-push" timeout -k 5 "$LIMIT" skopeo inspect --raw \
        --creds "AWS:$A_PW" --cert-dir "$P/certs.d/$A" "docker://$A/${KIND_REPO[$1]}") || return 1
    printf '%s\n' "$m"
    [ "$(printf %s "$m" | sha256sum | cut -d' ' -f1)" = "${KIND_MDIG[$1]}" ] || return 1
    printf %s "$m" | python3 -c '
import json, sys
m = json.load(sys.stdin)
sys.exit(not (m["mediaType"] == sys.argv[1] and m["config"]["digest"] == "sha256:" + sys.argv[2]
              and [l["digest"] for l in m["layers"]] == ["sha256:" + sys.argv[3]]))' "${KIND_MEDIA[$1]}" "$CDIG" "$LDIG"
}
for kind in "${KINDS[@]}"; do
    check setup "$kind: registry ${A%%.*} serves a ${KIND_MEDIA[$kind]} of the built config and layer" \
        stored_manifest_is "$kind"
done
use_kind() { # KIND: the image the cases below read, and the suffix of their names
    KIND=$1
    REPO=${KIND_REPO[$1]}
    MDIG=${KIND_MDIG[$1]}
    DIGEST_RE="\"Digest\": \"sha256:$MDIG\""
    K=" [$1]"
}

# --- the helper: on PATH, behind a counting wrapper ---------------------------
mkdir -p "$T/bin" "$T/wrap"
ln -s "$HELPER_REAL" "$T/bin/docker-credential-ecr-login"
: >"$T/counter.tsv"
cat >"$T/wrap/docker-credential-ecr-login" <<EOF
#!/bin/sh
# Counting wrapper: one line per call (phase, client, action, server URL, case)
# in \$E2E_COUNTER, then the real helper, with the same stdin.
real="$T/bin/docker-credential-ecr-login"
if [ "\${1:-}" = get ]; then
    IFS= read -r url || true
    printf '%s\t%s\tget\t%s\t%s\n' "\${E2E_PHASE:-none}" "\${E2E_CLIENT:-none}" "\$url" "\${E2E_CASE:-}" >>"\${E2E_COUNTER:-/dev/null}"
    exec "\$real" "\$@" <<END
\$url
END
fi
printf '%s\t%s\t%s\t-\t%s\n' "\${E2E_PHASE:-none}" "\${E2E_CLIENT:-none}" "\${1:-}" "\${E2E_CASE:-}" >>"\${E2E_COUNTER:-/dev/null}"
exec "\$real" "\$@"
EOF
chmod 0755 "$T/wrap/docker-credential-ecr-login"

mkdir -p "$T/home-empty" "$T/home-docker" "$T/xdg-run" "$T/aws" "$T/empty-docker"
chmod 0700 "$T/xdg-run"
ln -s "$T/docker" "$T/home-docker/.docker" # a HOME whose ~/.docker is the docker config dir
echo '{}' >"$T/empty-auth.json"

BASE_ENV=(
    PATH="$T/wrap:$T/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    HOME="$T/home-empty" XDG_RUNTIME_DIR="$T/xdg-run" TMPDIR="$T/tmp" LANG=C.UTF-8
    AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET"
    AWS_CONFIG_FILE="$T/aws/config" AWS_SHARED_CREDENTIALS_FILE="$T/aws/credentials"
    AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
    AWS_ECR_CACHE_DIR="$T/cache" AWS_ECR_LOG=info AWS_ECR_TIMEOUT=5
    DOCKER_HOST="unix://$T/no-docker-daemon.sock"
    E2E_COUNTER="$T/counter.tsv"
)

# ===========================================================================
say "== configure"

DC=$T/docker/config.json # the docker config
CA_JSON=$T/containers/auth.json # the containers auth file
AUTH_I=$(printf '%s:%s' "$I_USER" "$I_PW" | base64 -w0)
mkdir -p "$T/docker"
# As `docker login` writes it (tab-indented), with the non-ECR registry.
printf '{\n\t"auths": {\n\t\t"%s": {\n\t\t\t"auth": "%s"\n\t\t}\n\t}\n}\n' "$I" "$AUTH_I" >"$DC"
chmod 0600 "$DC"
AUTHS_BLOCK=$(printf '\t"auths": {\n\t\t"%s": {\n\t\t\t"auth": "%s"\n\t\t}\n\t}' "$I" "$AUTH_I")
mkdir -p "$T/probe-docker" "$T/out" # the trust probes' docker config: I and LB
printf '{\n\t"auths": {\n\t\t"%s": {\n\t\t\t"auth": "%s"\n\t\t},\n\t\t"%s": {\n\t\t\t"auth": "%s"\n\t\t}\n\t}\n}\n' \
    "$I" "$AUTH_I" "$LB" "$AUTH_I" >"$T/probe-docker/config.json"

json_check() { # FILE PYTHON-EXPR(d, text): the file parses and the expression holds
    python3 - "$@" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text)
ok = eval(sys.argv[2], {"d": d, "text": text, "A": sys.argv[3:]})
print(json.dumps(d)[:300])
sys.exit(0 if ok else 1)
PY
}
auths_intact() { # the auths entry is there byte for byte, and the same JSON
    python3 - "$DC" "$AUTHS_BLOCK" "$I" "$AUTH_I" <<'PY'
import json, sys
path, block, host, auth = sys.argv[1:]
text = open(path).read()
assert block in text, "the auths block is not byte-identical:\n" + text
assert json.loads(text)["auths"] == {host: {"auth": auth}}, text
PY
}
no_tmp_in() { # DIR...: no temporary files anywhere below
    local found
    found=$(find "$@" -name '*.tmp' 2>/dev/null)
    [ -z "$found" ] || { echo "left behind: $found"; return 1; }
}
mode_is() { [ "$(stat -c %a "$1")" = "$2" ] || { echo "$1 has mode $(stat -c %a "$1"), want $2"; return 1; }; }

client configure configure "configure A and B into the docker config and auth.json" ok -- \
    docker-credential-ecr-login configure --registry "$A" --registry "https://$B/" \
    --docker-config "$DC" --containers-auth "$CA_JSON"
record_configure_checks() {
    check configure "docker config: credHelpers has exactly $*" json_check "$DC" \
        'd["credHelpers"] == {h: "ecr-login" for h in A}' "$@"
    check configure "auth.json: credHelpers has exactly $*" json_check "$CA_JSON" \
        'd == {"credHelpers": {h: "ecr-login" for h in A}}' "$@"
    check configure "the non-ECR auths entry is byte-identical" auths_intact
    check configure "docker config keeps mode 0600" mode_is "$DC" 600
    check configure "auth.json is created 0600" mode_is "$CA_JSON" 600
}
record_configure_checks "$A" "$B"
sum_before=$(cat "$DC" "$CA_JSON" | sha256sum)
client configure configure "configure again: nothing to do" "ok:already up to date" -- \
    docker-credential-ecr-login configure --registry "$A" --registry "$B" \
    --docker-config "$DC" --containers-auth "$CA_JSON"
check configure "configure again leaves both files byte-identical" \
    test "$(cat "$DC" "$CA_JSON" | sha256sum)" = "$sum_before"
client configure configure "configure refuses a non-ECR host" "fail:not an Amazon ECR registry" -- \
    docker-credential-ecr-login configure --registry "$I" --docker-config "$DC" --containers-auth "$CA_JSON"
check configure "after the refusal both files are byte-identical" \
    test "$(cat "$DC" "$CA_JSON" | sha256sum)" = "$sum_before"
client configure configure "configure adds $C (wrong password) to both files" ok -- \
    docker-credential-ecr-login configure --registry "$C" --docker-config "$DC" --containers-auth "$CA_JSON"
record_configure_checks "$A" "$B" "$C"
mkdir -p "$T/broken"
printf '{ "auths": {' >"$T/broken/config.json"
client configure configure "configure refuses a broken docker config" "fail:invalid JSON" -- \
    docker-credential-ecr-login configure --registry "$A" --docker-config "$T/broken/config.json"
check configure "the broken config is untouched, no temporary file" \
    bash -c '[ "$(cat "$1/config.json")" = "{ \"auths\": {" ] && [ "$(ls -A "$1")" = config.json ]' _ "$T/broken"

# ===========================================================================
say "== trust: which CA configuration each client honours (registry $I, explicit credentials)"

declare -A TRUST
TRUST_MODES=()
# trust_probe MODE EXPECT HOST [VAR=VALUE...]
trust_probe() {
    local mode=$1 expect=$2 host=$3
    shift 3
    local cert_err='x509|certificate signed by unknown authority|certificate verify failed|unknown authority'
    [ "$expect" = observe ] && expect="observe:$cert_err" || expect="fail:$cert_err"
    TRUST_MODES+=("$mode")
    local kind
    for kind in "${KINDS[@]}"; do
        use_kind "$kind"
        client trust skopeo "skopeo inspect, $mode$K" "$expect" "$@" -- \
            skopeo inspect --creds "$I_USER:$I_PW" "docker://$host/$REPO"
        TRUST[skopeo/$mode/$KIND]=${OBSERVED:-no}
        podman_cmd
        client trust podman "podman pull, $mode$K" "$expect" "$@" -- \
            "${PODMAN[@]}" pull --quiet --creds "$I_USER:$I_PW" "$host/$REPO"
        TRUST[podman/$mode/$KIND]=${OBSERVED:-no}
        docker_inspect trust "docker manifest inspect, $mode$K" "$expect" "$host" DOCKER_CONFIG="$T/probe-docker" "$@"
        TRUST[docker/$mode/$KIND]=${OBSERVED:-no}
    done
}
API_MODE=none
trust_probe "no trust configured" fail "$I"
trust_probe "no trust configured, registry on 127.0.0.15" observe "$LB"
mkdir -p /etc/containers/certs.d && cp -r "$P/certs.d/$I" /etc/containers/certs.d/
trust_probe "/etc/containers/certs.d/<host>/ca.crt" observe "$I"
rm -rf /etc/containers/certs.d
mkdir -p /etc/docker/certs.d && cp -r "$P/certs.d/$I" /etc/docker/certs.d/
trust_probe "/etc/docker/certs.d/<host>/ca.crt" observe "$I"
rm -rf /etc/docker/certs.d
mount --bind "$P/bundle.crt" /etc/ssl/certs/ca-certificates.crt || die "bind the CA bundle"
trust_probe "system bundle /etc/ssl/certs/ca-certificates.crt" observe "$I"
umount /etc/ssl/certs/ca-certificates.crt || die "unbind the CA bundle"
trust_probe "SSL_CERT_FILE=bundle" observe "$I" SSL_CERT_FILE="$P/bundle.crt"

# From here on: every place at once.
mkdir -p /etc/containers/certs.d /etc/docker/certs.d
cp -r "$P/certs.d/." /etc/containers/certs.d/ && cp -r "$P/certs.d/." /etc/docker/certs.d/ || die "certs.d"
mount --bind "$P/bundle.crt" /etc/ssl/certs/ca-certificates.crt || die "bind the CA bundle"
API_MODE=moto

# ===========================================================================
say "== controls: the registries demand credentials, the helper answers"

for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    client control skopeo "anonymous inspect of $A is refused$K" "fail:unauthorized|authentication required|401" -- \
        skopeo inspect --no-creds "docker://$A/$REPO"
    podman_pull control "pull of $A with an empty auth file is refused$K" "fail:unauthorized|authentication required|401" \
        "$A/$REPO" REGISTRY_AUTH_FILE="$T/empty-auth.json"
    docker_inspect control "manifest inspect of $A with an empty config is refused$K" \
        "fail:unauthorized|authentication required|401|no basic auth" "$A" DOCKER_CONFIG="$T/empty-docker"
done
for h in "$A" "$B"; do
    pw=${h%%.*}-auth-token
    client moto helper "get $h" "ok:\"Secret\":\"$pw\"" -- \
        bash -c 'printf "%s\n" "$1" | docker-credential-ecr-login get' _ "$h"
done

# ===========================================================================
say "== clients through credHelpers, API = moto (tokens already expired: no caching)"

declare -A CFG_NAME=(
    [docker]="docker config via --authfile"
    [home]="\$HOME/.docker/config.json"
    [authjson]="auth.json via REGISTRY_AUTH_FILE"
)
for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    for h in "$A" "$B"; do
        acct=${h%%.*}
        client moto skopeo "inspect $acct, ${CFG_NAME[docker]}$K" "ok:$DIGEST_RE" -- \
            skopeo inspect --authfile "$DC" "docker://$h/$REPO"
        client moto skopeo "inspect $acct, ${CFG_NAME[home]}$K" "ok:$DIGEST_RE" HOME="$T/home-docker" -- \
            skopeo inspect "docker://$h/$REPO"
        client moto skopeo "inspect $acct, ${CFG_NAME[authjson]}$K" "ok:$DIGEST_RE" REGISTRY_AUTH_FILE="$CA_JSON" -- \
            skopeo inspect "docker://$h/$REPO"
        for cfg in docker authjson; do
            out=$T/out/skopeo-$acct-$cfg-$KIND
            if [ $cfg = docker ]; then
                client moto skopeo "copy $acct to oci:, ${CFG_NAME[$cfg]}$K" ok -- \
                    skopeo copy --quiet --authfile "$DC" "docker://$h/$REPO" "oci:$out:x"
            else
                client moto skopeo "copy $acct to oci:, ${CFG_NAME[$cfg]}$K" ok REGISTRY_AUTH_FILE="$CA_JSON" -- \
                    skopeo copy --quiet "docker://$h/$REPO" "oci:$out:x"
            fi
            check skopeo "moto: the copy of $acct ($cfg) holds the pushed layer and config$K" \
                test -s "$out/blobs/sha256/$LDIG" -a -s "$out/blobs/sha256/$CDIG"
        done

        podman_pull moto "pull $acct, ${CFG_NAME[docker]}$K" "ok:digest=sha256:$MDIG" "$h/$REPO" -- --authfile "$DC"
        podman_pull moto "pull $acct, ${CFG_NAME[home]}$K" "ok:digest=sha256:$MDIG" "$h/$REPO" HOME="$T/home-docker"
        podman_pull moto "pull $acct, ${CFG_NAME[authjson]}$K" "ok:digest=sha256:$MDIG" "$h/$REPO" REGISTRY_AUTH_FILE="$CA_JSON"

        docker_inspect moto "manifest inspect $acct, DOCKER_CONFIG$K" "ok:sha256:$CDIG" "$h" DOCKER_CONFIG="$T/docker"
        docker_inspect moto "manifest inspect $acct, ${CFG_NAME[home]}$K" "ok:sha256:$CDIG" "$h" HOME="$T/home-docker"
    done
done

say "== where podman and skopeo look without being told (observations)"
declare -A LOOKUP
NOAUTH='unauthorized|authentication required|401'
mkdir -p "$T/xdg-auth/containers" "$T/xdg-config/containers" && chmod 0700 "$T/xdg-auth"
cp "$CA_JSON" "$T/xdg-auth/containers/auth.json"
cp "$CA_JSON" "$T/xdg-config/containers/auth.json"
for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    client moto skopeo "inspect ${A%%.*}, DOCKER_CONFIG only$K" "observe:$NOAUTH" DOCKER_CONFIG="$T/docker" -- \
        skopeo inspect "docker://$A/$REPO"
    LOOKUP[skopeo/DOCKER_CONFIG/$KIND]=$OBSERVED
    podman_pull moto "pull ${A%%.*}, DOCKER_CONFIG only$K" "observe:$NOAUTH" "$A/$REPO" DOCKER_CONFIG="$T/docker"
    LOOKUP[podman/DOCKER_CONFIG/$KIND]=$OBSERVED
    client moto skopeo "inspect ${A%%.*}, \$XDG_RUNTIME_DIR/containers/auth.json$K" "observe:$NOAUTH" \
        XDG_RUNTIME_DIR="$T/xdg-auth" -- skopeo inspect "docker://$A/$REPO"
    LOOKUP[skopeo/XDG_RUNTIME_DIR/$KIND]=$OBSERVED
    podman_pull moto "pull ${A%%.*}, \$XDG_RUNTIME_DIR/containers/auth.json$K" "observe:$NOAUTH" \
        "$A/$REPO" XDG_RUNTIME_DIR="$T/xdg-auth"
    LOOKUP[podman/XDG_RUNTIME_DIR/$KIND]=$OBSERVED
    # configure --containers writes here by default: both must find it.
    client moto skopeo "inspect ${A%%.*}, \$XDG_CONFIG_HOME/containers/auth.json (configure's default)$K" "ok:$DIGEST_RE" \
        XDG_CONFIG_HOME="$T/xdg-config" -- skopeo inspect "docker://$A/$REPO"
    podman_pull moto "pull ${A%%.*}, \$XDG_CONFIG_HOME/containers/auth.json (configure's default)$K" "ok:digest=sha256:$MDIG" \
        "$A/$REPO" XDG_CONFIG_HOME="$T/xdg-config"
done

# ===========================================================================
say "== negative: a registry that refuses the issued token; a plain auths registry"

# The registry's own log proves each failure is its refusal of the token.
reg_refusals() { grep -cF 'error authenticating user \"AWS\": authentication failure' "$LOGS/registry-c.log" || true; }
refused_by_c() { # CLIENT REFUSALS-BEFORE
    check "$1" "negative: registry ${C%%.*} logged the refusal of user AWS$K" test "$(reg_refusals)" -gt "$2"
}
for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    r0=$(reg_refusals)
    client negative skopeo "inspect ${C%%.*} (password mismatch) fails cleanly$K" "fail:unauthorized|authentication required|401" -- \
        skopeo inspect --authfile "$DC" "docker://$C/$REPO"
    refused_by_c skopeo "$r0"
    r0=$(reg_refusals)
    podman_pull negative "pull ${C%%.*} (password mismatch) fails cleanly$K" "fail:unauthorized|authentication required|401" \
        "$C/$REPO" -- --authfile "$DC"
    refused_by_c podman "$r0"
    r0=$(reg_refusals)
    docker_inspect negative "manifest inspect ${C%%.*} (password mismatch) fails cleanly$K" \
        "fail:unauthorized|authentication required|401|no basic auth" "$C" DOCKER_CONFIG="$T/docker" -- --debug
    refused_by_c docker "$r0"
done
for who in skopeo podman docker; do
    check "$who" "negative: the helper was asked for ${C%%.*} and got a token (the 401 is the registry's)" \
        bash -c '[ "$(awk -F"\t" -v c="$1" -v h="$2" "\$1==\"negative\" && \$2==c && \$4 ~ h" "$3" | wc -l)" -ge 1 ] &&
                 grep -q "calling GetAuthorizationToken" "$4" && ! grep -qiE "ERROR|credentials not found" "$4"' \
        _ "$who" "$C" "$T/counter.tsv" "$LOGS/helper-negative-$who.log"
done

for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    client negative skopeo "inspect $I (plain auths entry)$K" "ok:$DIGEST_RE" -- \
        skopeo inspect --authfile "$DC" "docker://$I/$REPO"
    client negative skopeo "inspect $I (plain auths entry, \$HOME/.docker)$K" "ok:$DIGEST_RE" HOME="$T/home-docker" -- \
        skopeo inspect "docker://$I/$REPO"
    podman_pull negative "pull $I (plain auths entry)$K" "ok:digest=sha256:$MDIG" "$I/$REPO" -- --authfile "$DC"
    docker_inspect negative "manifest inspect $I (plain auths entry)$K" "ok:sha256:$CDIG" "$I" DOCKER_CONFIG="$T/docker"
done
check configure "no client ever called the helper for $I" \
    bash -c '! grep -F "$1" "$2"' _ "$I" "$T/counter.tsv"
check configure "the $I auths entry is still byte-identical after all runs" auths_intact

# ===========================================================================
say "== helper errors: the API is unreachable"

API_MODE=none
DOWN=(AWS_ENDPOINT_URL="http://127.0.0.1:9" AWS_ECR_TIMEOUT=2)
for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    client helper-error skopeo "inspect ${A%%.*} with the API down fails cleanly$K" "fail:unauthorized|authentication required|401" \
        "${DOWN[@]}" -- skopeo inspect --authfile "$DC" "docker://$A/$REPO"
    podman_pull helper-error "pull ${A%%.*} with the API down fails cleanly$K" "fail:unauthorized|authentication required|401" \
        "$A/$REPO" "${DOWN[@]}" -- --authfile "$DC"
    docker_inspect helper-error "manifest inspect ${A%%.*} with the API down fails cleanly$K" \
        "fail:unauthorized|authentication required|401|no basic auth" "$A" "${DOWN[@]}" DOCKER_CONFIG="$T/docker"
done
client helper-error helper "get ${A%%.*} with the API down says credentials not found" "fail:credentials not found in native keychain" \
    "${DOWN[@]}" -- bash -c 'printf "%s\n" "$1" | docker-credential-ecr-login get' _ "$A"
for who in skopeo podman docker helper; do
    check "$who" "helper-error: the helper was called and logged its failure" \
        bash -c '[ "$(awk -F"\t" -v c="$1" "\$1==\"helper-error\" && \$2==c && \$3==\"get\"" "$2" | wc -l)" -ge 1 ] &&
                 grep -qiE "ERROR|WARN" "$3"' _ "$who" "$T/counter.tsv" "$LOGS/helper-helper-error-$who.log"
done

# ===========================================================================
say "== warm cache: API = a fake ECR whose tokens are valid for 12 h"

API_MODE=fake
WARM=(AWS_ENDPOINT_URL="http://127.0.0.1:$FAKE_PORT" AWS_ECR_CACHE_DIR="$T/cache-warm")
for h in "$A" "$B"; do
    client warm-cold helper "cold get ${h%%.*}" "ok:\"Secret\":\"${h%%.*}-auth-token\"" "${WARM[@]}" -- \
        bash -c 'printf "%s\n" "$1" | docker-credential-ecr-login get' _ "$h"
done
check helper "warm-cold: one fake ECR call per registry (2)" test "$(api_count)" -eq 2
check helper "warm-cold: two cache entries, 0600 in a 0700 directory" \
    bash -c '[ "$(find "$1" -maxdepth 1 -name "*.json" -perm 0600 | wc -l)" -eq 2 ] && [ "$(stat -c %a "$1")" = 700 ]' _ "$T/cache-warm"
cold_calls=$(api_count)
for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    for h in "$A" "$B"; do
        acct=${h%%.*}
        client warm skopeo "inspect $acct, ${CFG_NAME[docker]}$K" "ok:$DIGEST_RE" "${WARM[@]}" -- \
            skopeo inspect --authfile "$DC" "docker://$h/$REPO"
        client warm skopeo "inspect $acct, ${CFG_NAME[authjson]}$K" "ok:$DIGEST_RE" "${WARM[@]}" REGISTRY_AUTH_FILE="$CA_JSON" -- \
            skopeo inspect "docker://$h/$REPO"
        client warm skopeo "copy $acct to oci:, ${CFG_NAME[docker]}$K" ok "${WARM[@]}" -- \
            skopeo copy --quiet --authfile "$DC" "docker://$h/$REPO" "oci:$T/out/warm-skopeo-$acct-$KIND:x"
        podman_pull warm "pull $acct, ${CFG_NAME[docker]}$K" "ok:digest=sha256:$MDIG" "$h/$REPO" "${WARM[@]}" -- --authfile "$DC"
        podman_pull warm "pull $acct, ${CFG_NAME[authjson]}$K" "ok:digest=sha256:$MDIG" "$h/$REPO" "${WARM[@]}" REGISTRY_AUTH_FILE="$CA_JSON"
        docker_inspect warm "manifest inspect $acct, DOCKER_CONFIG$K" "ok:sha256:$CDIG" "$h" "${WARM[@]}" DOCKER_CONFIG="$T/docker"
    done
done
for who in skopeo podman docker; do
    check "$who" "warm: the helper was called, from its cache: 0 API calls, 0 GetAuthorizationToken" \
        bash -c '[ "$1" -gt 0 ] && [ "$2" -eq 0 ] && [ "$3" -eq 0 ]' _ \
        "$(helper_gets warm "$who")" "${N_API[warm/$who]:-x}" "$(helper_api_calls warm "$who")"
done
check helper "warm: the fake ECR saw no call after the cold round (still $cold_calls)" test "$(api_count)" -eq "$cold_calls"

# ===========================================================================
say "== the docker daemon: docker pull and docker build through dockerd; buildah pull (API = moto)"

# dockerd (Debian's docker.io, $DOCKERD) in this namespace: no bridge, no
# iptables, vfs storage, every path under $T/dd, its own empty daemon.json (a
# machine's /etc/docker/daemon.json, mirrors say, must not change the run). It
# starts its own containerd under --exec-root. The daemon never calls the
# helper: the docker CLI asks it (credHelpers in DOCKER_CONFIG) and sends the
# credentials along with the request (X-Registry-Auth for a pull; for the
# classic builder, X-Registry-Config with every configured registry's). The
# CA is in /etc/docker/certs.d/<host>/ca.crt since the trust probes
# (/etc/docker is this namespace's bind-mounted copy).
API_MODE=moto
DOCKERD=${E2E_DOCKERD:-dockerd}
DD=$T/dd
mkdir -p "$DD/data" "$DD/exec"
echo '{}' >"$DD/daemon.json"
DOCKERD_SOCK=unix://$DD/docker.sock
env -i PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$T/home-empty" TMPDIR="$T/tmp" \
    "$DOCKERD" --bridge=none --iptables=false --ip6tables=false --storage-driver vfs \
    --config-file "$DD/daemon.json" --data-root "$DD/data" --exec-root "$DD/exec" \
    --pidfile "$DD/dockerd.pid" -H "$DOCKERD_SOCK" >"$LOGS/dockerd.log" 2>&1 &
DOCKERD_PID=$!
# The daemon's own commands (readiness, emptying its image store) run with no
# docker config at all: only the cases' CLI runs may call the helper.
dd_cli() { env -i PATH="$PATH" HOME="$T/home-empty" DOCKER_CONFIG="$T/empty-docker" DOCKER_HOST="$DOCKERD_SOCK" "$DOCKER" "$@"; }
DOCKERD_UP=0
for _ in $(seq 300); do # up to 30 s
    if dd_cli version --format '{{.Server.Version}}' >"$LOGS/dockerd-version.out" 2>&1; then
        DOCKERD_UP=1
        break
    fi
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
done
if [ "$DOCKERD_UP" = 1 ]; then
    record PASS dockerd "dockerd $(cat "$LOGS/dockerd-version.out") up at $DOCKERD_SOCK (vfs, no bridge)"
else
    record FAIL dockerd "dockerd did not come up within 30 s (log: $LOGS/dockerd.log)"
    show "$LOGS/dockerd.log" 40
fi
# Every case starts from an empty image store (and build cache), so that each
# pull and each build's FROM is downloaded for real.
dd_reset() {
    dd_cli builder prune -a -f >/dev/null 2>&1
    local ids
    ids=$(dd_cli images -aq) || return 1
    [ -z "$ids" ] || dd_cli rmi -f $ids >/dev/null || return 1
    [ -z "$(dd_cli images -aq)" ]
}
DD_ENV=(DOCKER_HOST="$DOCKERD_SOCK" DOCKER_CONFIG="$T/docker")
dd_show_log() { # after a failed case: what the daemon said
    say "    dockerd log ($LOGS/dockerd.log):"
    show "$LOGS/dockerd.log" 15
}

# The hosts the helper was asked for in one case (scheme and slash dropped), sorted.
case_hosts() { # PHASE CLIENT CASE
    awk -F'\t' -v p="$1" -v c="$2" -v n="$3" '$1 == p && $2 == c && $3 == "get" && $5 == n {
            u = $4; sub(/^https?:\/\//, "", u); sub(/\/.*$/, "", u); print u }' "$T/counter.tsv" | sort | paste -sd' ' -
}
# expect_gets CLIENT PHASE NAME API-BEFORE HOST...: the case asked the helper
# exactly once per HOST, and (API = moto) each get made one API call.
expect_gets() {
    local who=$1 phase=$2 name=$3 api0=$4
    shift 4
    local want got api
    want=$(printf '%s\n' "$@" | sort | paste -sd' ' -)
    got=$(case_hosts "$phase" "$who" "$name")
    api=$(($(api_count) - api0))
    check "$who" "$phase: $name: the helper was asked for ${*%%.*} ($# gets, $# API calls)" \
        bash -c '[ "$1" = "$2" ] && [ "$3" -eq "$4" ] || { echo "asked for [$2], want [$1]; API calls: $3, want $4"; exit 1; }' \
        _ "$want" "$got" "$api" "$#"
}

NOAUTH_D='unauthorized|authentication required|no basic auth|401'
# dd_pull PHASE NAME EXPECT HOST [VAR=VALUE...]: docker pull HOST/$REPO, then image inspect
dd_pull() {
    local phase=$1 name=$2 expect=$3 host=$4
    shift 4
    if [ "$DOCKERD_UP" != 1 ]; then record FAIL dockerd "$phase: $name" "dockerd is not up"; return 0; fi
    dd_reset || record FAIL dockerd "$phase: $name: emptying the image store" "$(dd_cli images -a 2>&1 | tr '\n' ' ')"
    DD_API0=$(api_count)
    client "$phase" dockerd "$name" "$expect" "${DD_ENV[@]}" "$@" -- \
        bash -c '"$1" pull --quiet "$2" && "$1" image inspect --format "id={{.Id}} digests={{json .RepoDigests}}" "$2"' \
        _ "$DOCKER" "$host/$REPO" || dd_show_log
}
# dd_build PHASE NAME EXPECT HOST BUILDER [VAR=VALUE...]: docker build of
# FROM HOST/$REPO plus a LABEL and a COPY (the image has no shell: no RUN),
# then the built image's layers and label. BUILDER: classic | buildkit.
DD_N=0
dd_build() {
    local phase=$1 name=$2 expect=$3 host=$4 builder=$5 bk=0
    shift 5
    [ "$builder" = buildkit ] && bk=1
    if [ "$DOCKERD_UP" != 1 ]; then record FAIL docker-build "$phase: $name" "dockerd is not up"; return 0; fi
    dd_reset || record FAIL docker-build "$phase: $name: emptying the image store" "$(dd_cli images -a 2>&1 | tr '\n' ' ')"
    DD_N=$((DD_N + 1))
    local ctx=$T/build/$DD_N
    mkdir -p "$ctx"
    echo "added by docker build" >"$ctx/added.txt"
    printf 'FROM %s\nLABEL org.example.e2e=docker-credential-ecr-login\nCOPY added.txt /added.txt\n' "$host/$REPO" >"$ctx/Dockerfile"
    DD_API0=$(api_count)
    client "$phase" docker-build "$name" "$expect" "${DD_ENV[@]}" DOCKER_BUILDKIT="$bk" "$@" -- \
        bash -c '"$1" build --quiet --tag e2e-built:1 "$2" && "$1" image inspect --format "layers={{json .RootFS.Layers}} label={{index .Config.Labels \"org.example.e2e\"}}" e2e-built:1' \
        _ "$DOCKER" "$ctx" || dd_show_log
}
BUILT_RE="layers=\\[\"sha256:$DIFF_ID\",\"sha256:[0-9a-f]{64}\"\\] label=docker-credential-ecr-login"

# buildah: private storage per case, like podman; the CA from
# /etc/containers/certs.d/<host>/ca.crt, with verification asked for.
BUILDAH_N=0
# bh_pull PHASE NAME EXPECT REF [VAR=VALUE...] [-- PULL-FLAGS...]: pull, then the image's digest and ID
bh_pull() {
    local phase=$1 name=$2 expect=$3 ref=$4
    shift 4
    local vars=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    BUILDAH_N=$((BUILDAH_N + 1))
    local d=$T/bh/$BUILDAH_N
    mkdir -p "$d"
    DD_API0=$(api_count)
    client "$phase" buildah "$name" "$expect" "${vars[@]}" -- \
        bash -c 'ref=$1 root=$2; shift 2
                 b=(buildah --root "$root/root" --runroot "$root/run" --storage-driver vfs)
                 "${b[@]}" pull --quiet --tls-verify=true "$@" "$ref" >/dev/null &&
                 "${b[@]}" images --digests --no-trunc --format "id={{.ID}} digest={{.Digest}}"' \
        _ "$ref" "$d" "$@"
}

for kind in "${KINDS[@]}"; do
    use_kind "$kind"
    for h in "$A" "$B"; do
        acct=${h%%.*}
        n="pull $acct, DOCKER_CONFIG, then image inspect$K"
        dd_pull moto "$n" "ok:id=sha256:$CDIG digests=.*$h/team/app@sha256:$MDIG" "$h"
        expect_gets dockerd moto "$n" "$DD_API0" "$h"
        # One build per account and kind, so that each builder reads each
        # account and each kind once (the pulls above read all four).
        if [ "$KIND" = v2s2 ] && [ "$h" = "$A" ] || [ "$KIND" = oci ] && [ "$h" = "$B" ]; then
            n="build FROM $acct, classic builder$K"
            dd_build moto "$n" "ok:$BUILT_RE" "$h" classic
            # The classic builder's CLI sends credentials for every registry
            # the config names: it asks each credHelpers entry (A, B and C).
            expect_gets docker-build moto "$n" "$DD_API0" "$A" "$B" "$C"
        else
            n="build FROM $acct, BuildKit$K"
            dd_build moto "$n" "ok:$BUILT_RE" "$h" buildkit
            # BuildKit asks (through the CLI's session) for the registry it
            # pulls from, only.
            expect_gets docker-build moto "$n" "$DD_API0" "$h"
        fi
        for cfg in authjson home; do
            n="pull $acct, ${CFG_NAME[$cfg]}$K"
            if [ $cfg = authjson ]; then
                bh_pull moto "$n" "ok:id=(sha256:)?${CDIG}[[:space:]]+digest=sha256:$MDIG" "$h/$REPO" REGISTRY_AUTH_FILE="$CA_JSON"
            else
                bh_pull moto "$n" "ok:id=(sha256:)?${CDIG}[[:space:]]+digest=sha256:$MDIG" "$h/$REPO" HOME="$T/home-docker"
            fi
            expect_gets buildah moto "$n" "$DD_API0" "$h"
        done
    done
done

say "== the daemon, docker build and buildah: controls and failures"
# One image kind: these fail before any manifest is read.
use_kind oci
# No credentials, no image: the registry's refusal reaches each client.
dd_pull control "pull ${A%%.*} with an empty docker config is refused$K" "fail:$NOAUTH_D" "$A" DOCKER_CONFIG="$T/empty-docker"
dd_build control "build FROM ${A%%.*} with an empty docker config is refused (classic)$K" "fail:$NOAUTH_D" "$A" classic DOCKER_CONFIG="$T/empty-docker"
bh_pull control "pull ${A%%.*} with an empty auth file is refused$K" "fail:$NOAUTH_D" "$A/$REPO" \
    REGISTRY_AUTH_FILE="$T/empty-auth.json"
# The registry refuses the token the helper got: a clean failure, and the registry says why.
r0=$(reg_refusals)
dd_pull negative "pull ${C%%.*} (password mismatch) fails cleanly$K" "fail:$NOAUTH_D" "$C"
refused_by_c dockerd "$r0"
r0=$(reg_refusals)
dd_build negative "build FROM ${C%%.*} (password mismatch) fails cleanly (classic)$K" "fail:$NOAUTH_D" "$C" classic
refused_by_c docker-build "$r0"
r0=$(reg_refusals)
bh_pull negative "pull ${C%%.*} (password mismatch) fails cleanly$K" "fail:$NOAUTH_D" "$C/$REPO" REGISTRY_AUTH_FILE="$CA_JSON"
refused_by_c buildah "$r0"
# The helper cannot get a token: the API is down, or (quicker to fail for the
# builds, which ask it three and five times) there are no AWS credentials at
# all. Each client fails, after asking it.
API_MODE=none
NOCREDS=(AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY=)
dd_pull helper-error "pull ${A%%.*} with the API down fails cleanly$K" "fail:$NOAUTH_D" "$A" "${DOWN[@]}"
dd_build helper-error "build FROM ${A%%.*} with no AWS credentials fails cleanly (classic)$K" "fail:$NOAUTH_D" "$A" classic "${NOCREDS[@]}"
dd_build helper-error "build FROM ${A%%.*} with no AWS credentials fails cleanly (BuildKit)$K" "fail:$NOAUTH_D" "$A" buildkit "${NOCREDS[@]}"
bh_pull helper-error "pull ${A%%.*} with the API down fails cleanly$K" "fail:$NOAUTH_D" "$A/$REPO" "${DOWN[@]}" REGISTRY_AUTH_FILE="$CA_JSON"
API_MODE=moto
for who in dockerd docker-build buildah; do
    check "$who" "negative: the helper was asked for ${C%%.*} and got a token (the refusal is the registry's)" \
        bash -c '[ "$(awk -F"\t" -v c="$1" -v h="$2" "\$1==\"negative\" && \$2==c && \$4 ~ h" "$3" | wc -l)" -ge 1 ] &&
                 grep -q "calling GetAuthorizationToken" "$4" && ! grep -qiE "ERROR|credentials not found" "$4"' \
        _ "$who" "$C" "$T/counter.tsv" "$LOGS/helper-negative-$who.log"
    check "$who" "helper-error: the helper was called and logged its failure" \
        bash -c '[ "$(awk -F"\t" -v c="$1" "\$1==\"helper-error\" && \$2==c && \$3==\"get\"" "$2" | wc -l)" -ge 1 ] &&
                 grep -qiE "ERROR|WARN" "$3"' _ "$who" "$T/counter.tsv" "$LOGS/helper-helper-error-$who.log"
    check "$who" "control: the helper was never asked (no credHelpers in the config)" \
        bash -c '! awk -F"\t" -v c="$1" "\$1==\"control\" && \$2==c" "$2" | grep -q .' _ "$who" "$T/counter.tsv"
done
check dockerd "no token or encoded token in dockerd's log" bash -c '! grep -E "auth-token|QVdTOj" "$1"' _ "$LOGS/dockerd.log"

# ===========================================================================
# Registry aliases: tests/e2e/alias.sh, when present, adds its cases here,
# sourced into this shell (so its processes die with the namespace too). What
# it can use, all set up above:
#   hosts, addresses  $T/etc/hosts is bind-mounted on /etc/hosts: append
#                     "IP NAME"; add the IP with `ip addr add IP/32 dev lo`
#                     (TEST-NET-1 192.0.2.x, not 127.x: see A_IP above).
#                     A B C I (hosts), A_IP.., A_PW.. (registry passwords).
#   the test CA       $P/ca.crt, $P/ca.key (sign a certificate for a new host
#                     as the loop above does: $P/<host>.crt and .key);
#                     /etc/docker/certs.d/<host>/ca.crt and
#                     /etc/containers/certs.d/<host>/ca.crt are private and
#                     writable; the system bundle already trusts the CA.
#   registries        start_registry NAME HOST IP USER PASSWORD [DATA-OF]
#                     (DATA-OF=a serves registry A's images), wait_for WHAT LOG CMD...,
#                     logs in $LOGS/registry-NAME.log; use_kind KIND, KINDS,
#                     REPO, MDIG, CDIG, DIGEST_RE: the pushed image.
#   configs           DC=$T/docker/config.json (DOCKER_CONFIG=$T/docker),
#                     CA_JSON (containers auth.json), $T/aws (AWS_CONFIG_FILE
#                     dir), BASE_ENV (the clean environment of every client).
#   the helper        on PATH in BASE_ENV behind the counting wrapper:
#                     helper_gets PHASE CLIENT [HOST-RE] counts its gets,
#                     helper_api_calls PHASE CLIENT its GetAuthorizationToken
#                     calls; the AWS_ECR_* config of a case goes in VAR=VALUE.
#   the API           API_MODE (set it: moto | fake | none; it is "moto"
#                     here), api_count, api_sync, N_API[PHASE/CLIENT].
#   running cases     client PHASE CLIENT NAME EXPECT [VAR=VALUE...] -- CMD...,
#                     podman_pull, check GROUP NAME CMD..., record; group
#                     "alias" for tests/it/e2e.rs. The CLIENT of client is
#                     the group of its PASS/FAIL row.
#   the daemon        dockerd is still up when DOCKERD_UP=1: DD_ENV
#                     (DOCKER_HOST, DOCKER_CONFIG=$T/docker) for a client
#                     running "$DOCKER"; dd_reset empties its image store;
#                     expect_gets CLIENT PHASE NAME API-BEFORE HOST...
#                     checks which hosts a case asked the helper for.
if [ -f "$HERE/alias.sh" ]; then . "$HERE/alias.sh"; fi

# ===========================================================================
say "== files: no partial config or cache file"

check files "no *.tmp in the cache dirs or config dirs" \
    no_tmp_in "$T/cache" "$T/cache-warm" "$T/docker" "$T/containers" "$T/xdg-auth" "$T/home-docker/" "$T/broken"
check files "every cache *.json parses (and there are some)" \
    python3 -c '
import glob, json, sys
files = [f for d in sys.argv[1:] for f in glob.glob(d + "/*.json")]
for f in files:
    json.load(open(f))
print(len(files), "files")
sys.exit(0 if len(files) >= 2 else 1)' "$T/cache" "$T/cache-warm"
check files "the moto round cached nothing (its tokens expired in 2015)" \
    bash -c '[ -z "$(find "$1" -name "*.json" 2>/dev/null)" ]' _ "$T/cache"
check files "the docker config still parses" json_check "$DC" 'True'
check files "no token, encoded token or secret key in any helper log" \
    bash -c 'set -- "$1" "$2"/helper-*.log; [ -n "$(cat "${@:2}")" ] && ! grep -lE "auth-token|QVdTOj" "${@:2}" && ! grep -lF "$1" "${@:2}"' \
    _ "$SECRET" "$LOGS"
check files "auth.json still parses" json_check "$CA_JSON" 'True'

# dockerd and its containerd: stopped (TERM, then KILL after 20 s); the
# namespace would end them anyway.
if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID"
    for _ in $(seq 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null && say "dockerd ignored TERM for 20 s: killed"
fi

# ===========================================================================
say "== numbers"

for who in skopeo podman docker helper; do
    gets=$(helper_gets moto "$who" 'dkr\.ecr\.')
    logged=$(helper_api_calls moto "$who")
    api=${N_API[moto/$who]:-0}
    check numbers "moto: $who: each helper get made one API call (gets=$gets, logged=$logged, moto POSTs=$api)" \
        bash -c '[ "$1" -gt 0 ] && [ "$1" -eq "$2" ] && [ "$2" -eq "$3" ]' _ "$gets" "$logged" "$api"
done

{
    printf '\n%-13s %-12s %5s %13s %22s %16s\n' phase client runs "helper calls" "GetAuthorizationToken" "API requests"
    printf '%-13s %-12s %5s %13s %22s %16s\n' ------------- ------------ ----- ------------- ---------------------- ----------------
    for key in "${PHASES[@]}"; do
        phase=${key%%/*} who=${key#*/}
        case $phase in
        moto | control | negative) api_name="(moto)" ;;
        warm | warm-cold) api_name="(fake)" ;;
        *) api_name="(none)" ;;
        esac
        printf '%-13s %-12s %5s %13s %22s %16s\n' "$phase" "$who" "${N_RUNS[$key]}" \
            "$(helper_gets "$phase" "$who")" "$(helper_api_calls "$phase" "$who")" "${N_API[$key]:-0} $api_name"
    done
    printf '\nHelper calls per client run, by operation (runs that called it; mean calls per run):\n'
    awk -F'\t' '$3 == "get" && $5 != "" {
            op = $5; sub(/ [0-9].*/, "", op); sub(/ (of|with|registry|loopback).*/, "", op)
            k = $1 "\t" $2 " " op; calls[k]++; runs[k "\t" $5] = 1
        }
        END {
            for (r in runs) { split(r, f, "\t"); n[f[1] "\t" f[2]]++ }
            for (k in calls) { split(k, f, "\t"); printf "  %-13s %-26s %2d runs, %.1f calls per run\n", f[1], f[2], n[k], calls[k] / n[k] }
        }' "$T/counter.tsv" | sort
    printf '\nmoto POSTs in all: %s; fake ECR calls in all: %s\n' \
        "$(grep -c '"POST ' "$LOGS/moto.log")" "$(wc -l <"$T/fake-calls.txt")"

    per_kind() { # ARRAY KEY: the value for both image kinds, or each kind's when they differ
        local -n arr=$1
        local v=${arr[$2/v2s2]:-?} o=${arr[$2/oci]:-?}
        if [ "$v" = "$o" ]; then echo "$v"; else echo "v2s2:$v,oci:$o"; fi
    }
    printf '\nCA trust honoured (probe against %s; both image kinds):\n' "$I"
    printf '  %-52s %-7s %-7s %-7s\n' "where the test CA is" skopeo podman docker
    for mode in "${TRUST_MODES[@]}"; do
        printf '  %-52s %-7s %-7s %-7s\n' "$mode" "$(per_kind TRUST "skopeo/$mode")" "$(per_kind TRUST "podman/$mode")" "$(per_kind TRUST "docker/$mode")"
    done
    printf '\nCredentials found without --authfile/REGISTRY_AUTH_FILE (both image kinds):\n'
    printf '  %-52s %-7s %-7s\n' "where the config is" skopeo podman
    printf '  %-52s %-7s %-7s\n' "\$HOME/.docker/config.json" yes yes
    printf '  %-52s %-7s %-7s\n' "DOCKER_CONFIG=dir (no ~/.docker)" "$(per_kind LOOKUP skopeo/DOCKER_CONFIG)" "$(per_kind LOOKUP podman/DOCKER_CONFIG)"
    printf '  %-52s %-7s %-7s\n' "\$XDG_RUNTIME_DIR/containers/auth.json" "$(per_kind LOOKUP skopeo/XDG_RUNTIME_DIR)" "$(per_kind LOOKUP podman/XDG_RUNTIME_DIR)"
    printf '  %-52s %-7s %-7s\n' "\$XDG_CONFIG_HOME/containers/auth.json" yes yes
    printf '\nThe docker CLI: %s (%s)\n' "$DOCKER" "$DOCKER_VERSION"
    printf '  OCI manifests: read in %s cases, refused ("no such manifest", after the credentials were accepted) in %s\n' \
        "${OCI_READ[yes]:-0}" "${OCI_READ[no]:-0}"
    printf 'dockerd: %s (%s); buildah: %s\n' "$DOCKERD" "$(cat "$LOGS/dockerd-version.out" 2>/dev/null)" "$(buildah --version 2>&1)"
} | tee "$T/numbers.txt"

pass=$(grep -c '^PASS' "$RESULTS")
failed=$(grep -c '^FAIL' "$RESULTS")
say ""
say "e2e: $pass passed, $failed failed"
if [ "$failed" -gt 0 ]; then
    grep '^FAIL' "$RESULTS" | sed 's/^/  /'
    exit 1
fi
exit 0
