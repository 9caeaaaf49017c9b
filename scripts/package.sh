#!/usr/bin/env bash
# Builds and checks the release artifacts of docker-credential-ecr-login.
#
# usage: scripts/package.sh [OPTIONS] COMMAND...
#
# commands (run in the order given):
#   stage     lay out the installed tree (packaging/files.txt) in target/package/stage
#   deb       the Debian package, with dpkg-deb (no cargo-deb needed)
#   rpm       the RPM, with rpmbuild (Debian package `rpm`) and
#             packaging/rpm/docker-credential-ecr-login.spec, or with
#             cargo-generate-rpm (--rpm-tool)
#   tarball   the source tarball the Homebrew formula builds from (git archive)
#   formula   the Homebrew formula with url, sha256 and commit filled in (--url)
#   test      build the .deb and the .rpm and check them: control fields, file
#             lists, the installed binary against a fake ECR, the kubelet
#             provider link, the man page and the completions (what CI runs)
#   all       stage deb rpm tarball
#
# options:
#   --binary PATH      the release binary to package (default: build it with
#                      `cargo build --release --locked`)
#   --out DIR          where the artifacts go (default: target/package)
#   --url URL          formula: the URL the tarball is published at
#   --ref REF          tarball, formula: the commit or tag to archive (default: HEAD)
#   --rpm-tool TOOL    rpmbuild (default) or cargo-generate-rpm
#   --install-deps     install missing tools with apt-get (default when root and CI=true)
#
# CI builds the binary once and hands it over:
#   cargo build --release --locked
#   scripts/package.sh --binary target/release/docker-credential-ecr-login test
set -euo pipefail

CALLER_PWD="$(pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
NAME=docker-credential-ecr-login
PROVIDER=ecr-credential-provider

die() {
    echo "package.sh: error: $*" >&2
    exit 1
}
say() { echo "package.sh: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

BINARY=""
OUT="target/package"
URL=""
REF="HEAD"
RPM_TOOL="rpmbuild"
INSTALL_DEPS=0
if [ "$(id -u)" = 0 ] && [ "${CI:-}" = true ]; then INSTALL_DEPS=1; fi
COMMANDS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
        --binary=*) BINARY="${1#*=}"; shift ;;
        --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
        --out=*) OUT="${1#*=}"; shift ;;
        --url) URL="${2:?--url needs a URL}"; shift 2 ;;
        --url=*) URL="${1#*=}"; shift ;;
        --ref) REF="${2:?--ref needs a commit or tag}"; shift 2 ;;
        --ref=*) REF="${1#*=}"; shift ;;
        --rpm-tool) RPM_TOOL="${2:?--rpm-tool needs rpmbuild or cargo-generate-rpm}"; shift 2 ;;
        --rpm-tool=*) RPM_TOOL="${1#*=}"; shift ;;
        --install-deps) INSTALL_DEPS=1; shift ;;
        -h | --help) usage 0 ;;
        stage | deb | rpm | tarball | formula | test | all) COMMANDS+=("$1"); shift ;;
        *) echo "package.sh: unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done
[ ${#COMMANDS[@]} -gt 0 ] || usage 2 >&2
# Paths given on the command line are relative to where it was typed.
case "$BINARY" in "" | /*) ;; *) BINARY="$CALLER_PWD/$BINARY" ;; esac
case "$OUT" in /*) ;; *) [ "$OUT" = target/package ] || OUT="$CALLER_PWD/$OUT" ;; esac
case "$RPM_TOOL" in rpmbuild | cargo-generate-rpm) ;; *) die "--rpm-tool: rpmbuild or cargo-generate-rpm, not '$RPM_TOOL'" ;; esac
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
STAGE="$ROOT/target/package/stage"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/package.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------
APT_UPDATED=0
# need COMMAND DEBIAN-PACKAGE: installs the package when allowed, else fails
# naming it.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$INSTALL_DEPS" = 1 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $2 (for $1)"
        if [ "$APT_UPDATED" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
            APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2 \
            || die "apt-get install $2 failed"
        command -v "$1" >/dev/null 2>&1 && return 0
    fi
    die "'$1' not found: install the Debian package '$2' (apt-get install $2), or rerun as root with --install-deps"
}

# --- metadata, from Cargo.toml ---------------------------------------------------------
# VERSION, SUMMARY, MAINTAINER, HOMEPAGE, EXTENDED (the extended description).
load_metadata() {
    [ -n "${VERSION:-}" ] && return 0
    command -v cargo >/dev/null 2>&1 || die "'cargo' not found: install the Rust toolchain (rustup)"
    need python3 python3
    local vars
    vars="$(cargo metadata --no-deps --format-version 1 --offline 2>/dev/null \
        || cargo metadata --no-deps --format-version 1)" || die "cargo metadata failed"
    vars="$(python3 -c '
import json, shlex, sys
meta = json.load(sys.stdin)
pkg = next(p for p in meta["packages"] if p["name"] == sys.argv[1])
deb = (pkg.get("metadata") or {}).get("deb") or {}
values = {
    "VERSION": pkg["version"],
    "SUMMARY": pkg.get("description") or "",
    "MAINTAINER": deb.get("maintainer") or "",
    "HOMEPAGE": pkg.get("homepage") or pkg.get("repository") or "",
    "EXTENDED": deb.get("extended-description") or "",
    "TARGET_DIR": meta["target_directory"],
}
for k, v in values.items():
    print(f"{k}={shlex.quote(v)}")
' "$NAME" <<<"$vars")" || die "cannot read the package metadata"
    eval "$vars"
    [ -n "$MAINTAINER" ] || die "Cargo.toml: [package.metadata.deb] has no maintainer"
    [ -n "$SUMMARY" ] || die "Cargo.toml: [package] has no description"
    [ -n "$HOMEPAGE" ] || say "warning: Cargo.toml has no homepage or repository: the packages get no Homepage/URL"
}

# The commit the sources come from, and a timestamp for reproducible files.
source_epoch() {
    git log -1 --format=%ct "$REF" 2>/dev/null || date +%s
}

# --- the release binary -----------------------------------------------------------
ensure_binary() {
    [ -n "${BINARY_READY:-}" ] && return 0
    load_metadata
    if [ -z "$BINARY" ]; then
        say "no --binary given: cargo build --release --locked"
        cargo build --release --locked >&2 || die "cargo build --release --locked failed"
        BINARY="$TARGET_DIR/release/$NAME"
    fi
    if [ ! -f "$BINARY" ] || [ ! -x "$BINARY" ]; then die "--binary $BINARY: not an executable file"; fi
    BINARY="$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")"
    local line
    line="$("$BINARY" --version 2>&1)" || die "$BINARY --version failed: $line"
    case "$line" in
        *" $VERSION "*) ;;
        *) die "$BINARY is not version $VERSION (it says: $line): rebuild it" ;;
    esac
    BINARY_READY=1
}

# --- the installed tree ---------------------------------------------------------------
# manifest: prints "TYPE MODE DEST SOURCE" for each entry of packaging/files.txt.
manifest() {
    grep -v '^[[:space:]]*\(#\|$\)' packaging/files.txt
}

# Directories the package owns: those with the package's name in their path.
owned_dirs() {
    manifest | awk '{print $3}' | while read -r dest; do
        dir="$(dirname "$dest")"
        while [ "$dir" != / ]; do
            case "/$dir/" in */"$NAME"/*) echo "$dir" ;; esac
            dir="$(dirname "$dir")"
        done
    done | sort -u
}

# stage_into DIR: the files of packaging/files.txt under DIR, with their modes
# and the sources' commit time (reproducible packages).
stage_into() {
    local dir="$1" type mode dest src
    ensure_binary
    rm -rf "$dir"
    mkdir -p "$dir"
    while read -r type mode dest src; do
        mkdir -p "$dir$(dirname "$dest")"
        case "$type" in
            file)
                [ "$src" = @binary ] && src="$BINARY"
                [ -f "$src" ] || die "packaging/files.txt: $src does not exist (generated files: UPDATE_GENERATED=1 cargo test --test it packaging::)"
                if [[ "$dest" == *.gz && "$src" != *.gz ]]; then
                    gzip -9n -c "$src" >"$dir$dest"
                else
                    cp "$src" "$dir$dest"
                fi
                chmod "$mode" "$dir$dest"
                ;;
            link) ln -s "$src" "$dir$dest" ;;
            *) die "packaging/files.txt: unknown type '$type'" ;;
        esac
    done < <(manifest)
    find "$dir" -type d -exec chmod 0755 {} +
    local epoch
    epoch="$(source_epoch)"
    find "$dir" -exec touch -h -d "@$epoch" {} +
}

cmd_stage() {
    stage_into "$STAGE"
    say "staged $STAGE"
}

# --- .deb -------------------------------------------------------------------------------------
deb_arch() { dpkg --print-architecture; }

# The shared libraries' packages (dpkg-shlibdeps), or libc6 when it is missing.
deb_depends() {
    local bin="$1" dir="$WORK/shlibdeps" out
    if command -v dpkg-shlibdeps >/dev/null 2>&1; then
        mkdir -p "$dir/debian"
        printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" >"$dir/debian/control"
        if out="$(cd "$dir" && dpkg-shlibdeps -O "$bin" 2>"$dir/err")"; then
            out="${out#shlibs:Depends=}"
            [ -n "$out" ] && { echo "$out"; return 0; }
        fi
        say "warning: dpkg-shlibdeps failed ($(head -c 300 "$dir/err")); Depends: libc6"
    else
        say "warning: dpkg-shlibdeps not found (Debian package dpkg-dev); Depends: libc6"
    fi
    echo libc6
}

DEB=""
cmd_deb() {
    need dpkg-deb dpkg
    load_metadata
    ensure_binary
    local root="$WORK/deb" arch
    stage_into "$root"
    arch="$(deb_arch)"
    mkdir -p "$root/DEBIAN"
    {
        echo "Package: $NAME"
        echo "Version: $VERSION"
        echo "Architecture: $arch"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
        echo "Depends: $(deb_depends "$root/usr/bin/$NAME")"
        echo "Replaces: amazon-ecr-credential-helper"
        echo "Conflicts: amazon-ecr-credential-helper"
        echo "Provides: amazon-ecr-credential-helper"
        echo "Section: utils"
        echo "Priority: optional"
        [ -n "$HOMEPAGE" ] && echo "Homepage: $HOMEPAGE"
        echo "Description: $SUMMARY"
        # Extended description: each line indented by one space, "." for
        # empty lines.
        if [ -n "$EXTENDED" ]; then
            printf '%s\n' "$EXTENDED" | sed 's/^[[:space:]]*$/./; s/^/ /'
        fi
    } >"$root/DEBIAN/control"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
    touch -d "@$(source_epoch)" "$root/DEBIAN" "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
    DEB="$OUT/${NAME}_${VERSION}_${arch}.deb"
    SOURCE_DATE_EPOCH="$(source_epoch)" dpkg-deb --build --root-owner-group -Zxz "$root" "$DEB" >&2 \
        || die "dpkg-deb --build failed"
    say "built $DEB"
}

# --- .rpm -------------------------------------------------------------------------------------
RPM=""
cmd_rpm() {
    load_metadata
    ensure_binary
    case "$RPM_TOOL" in
        rpmbuild) rpm_with_rpmbuild ;;
        cargo-generate-rpm) rpm_with_cargo_generate_rpm ;;
    esac
    say "built $RPM"
}

rpm_with_rpmbuild() {
    need rpmbuild rpm
    local top="$WORK/rpmbuild" stage="$WORK/rpmstage" list="$WORK/rpm-files" arch type mode dest src
    stage_into "$stage"
    {
        owned_dirs | sed 's/^/%dir /'
        while read -r type mode dest src; do
            case "$type" in
                file)
                    case "$dest" in
                        /usr/share/doc/* | /usr/share/man/*) echo "%attr($mode,root,root) %doc $dest" ;;
                        *) echo "%attr($mode,root,root) $dest" ;;
                    esac
                    ;;
                link) echo "$dest" ;;
            esac
        done < <(manifest)
    } >"$list"
    arch="$(uname -m)"
    mkdir -p "$top"
    local defines=(
        --define "_topdir $top"
        --define "pkg_version $VERSION"
        --define "pkg_stage $stage"
        --define "pkg_filelist $list"
        --define "_build_id_links none"
        --define "source_date_epoch_from_changelog 0"
        --define "clamp_mtime_to_source_date_epoch 1"
        --define "use_source_date_epoch_as_buildtime 1"
    )
    [ -n "$HOMEPAGE" ] && defines+=(--define "pkg_url $HOMEPAGE")
    SOURCE_DATE_EPOCH="$(source_epoch)" rpmbuild -bb --quiet --nodeps --target "$arch" "${defines[@]}" \
        packaging/rpm/$NAME.spec >"$WORK/rpmbuild.log" 2>&1 \
        || { cat "$WORK/rpmbuild.log" >&2; die "rpmbuild failed"; }
    local built
    built="$(find "$top/RPMS" -name "$NAME-$VERSION-*.rpm" | head -n1)"
    [ -n "$built" ] || die "rpmbuild made no RPM"
    RPM="$OUT/$(basename "$built")"
    mv "$built" "$RPM"
}

rpm_with_cargo_generate_rpm() {
    command -v cargo-generate-rpm >/dev/null 2>&1 \
        || die "cargo-generate-rpm not found: cargo install cargo-generate-rpm --locked (or --rpm-tool rpmbuild)"
    # [package.metadata.generate-rpm] takes its files from the staged tree.
    stage_into "$STAGE"
    local out="$WORK/generate-rpm"
    mkdir -p "$out"
    cargo generate-rpm --output "$out/" >&2 || die "cargo generate-rpm failed"
    local built
    built="$(find "$out" -name '*.rpm' | head -n1)"
    [ -n "$built" ] || die "cargo generate-rpm made no RPM"
    RPM="$OUT/$(basename "$built")"
    mv "$built" "$RPM"
}

# --- source tarball and Homebrew formula ---------------------------------------------------------
TARBALL=""
cmd_tarball() {
    load_metadata
    git rev-parse --verify -q "$REF^{commit}" >/dev/null || die "--ref $REF: no such commit"
    if [ "$REF" = HEAD ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        say "warning: the work tree has uncommitted changes; the tarball holds HEAD only"
    fi
    local version_at_ref
    version_at_ref="$(git show "$REF:Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n1)"
    [ "$version_at_ref" = "$VERSION" ] || say "warning: $REF has version $version_at_ref, the work tree $VERSION"
    TARBALL="$OUT/$NAME-$version_at_ref.tar.gz"
    git archive --format=tar --prefix="$NAME-$version_at_ref/" "$REF" | gzip -9n >"$TARBALL"
    say "built $TARBALL"
}

cmd_formula() {
    [ -n "$URL" ] || die "formula: --url URL (where the tarball is published) is required"
    load_metadata
    [ -n "$HOMEPAGE" ] || die "formula: Cargo.toml needs a homepage (or repository) for the formula's homepage"
    [ -n "$TARBALL" ] || cmd_tarball
    local sha commit formula="$OUT/$NAME.rb"
    sha="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
    commit="$(git rev-parse --short=12 "$REF^{commit}")"
    # The template's header (how to fill it in) is left out.
    sed -e '1,/^class /{/^#/d}' \
        -e "s|@URL@|$URL|; s|@SHA256@|$sha|; s|@COMMIT@|$commit|; s|@HOMEPAGE@|$HOMEPAGE|" \
        "packaging/homebrew/$NAME.rb" >"$formula"
    ! grep -n '@[A-Z0-9]*@' "$formula" || die "formula: placeholders left in $formula"
    say "wrote $formula (url $URL, sha256 $sha, commit $commit)"
}

# --- the package test --------------------------------------------------------------------------
PASSED=0
FAILED=0
pass() {
    PASSED=$((PASSED + 1))
    echo "ok - $*"
}
fail() {
    FAILED=$((FAILED + 1))
    echo "not ok - $*"
}
# check NAME COMMAND...: one test, passed when COMMAND succeeds.
check() {
    local name="$1"
    shift
    local out
    if out="$("$@" 2>&1)"; then
        pass "$name"
    else
        fail "$name"
        if [ -n "$out" ]; then printf '%s\n' "$out" | sed 's/^/    /' | head -n 40 || true; fi
    fi
}
# same NAME EXPECTED ACTUAL
same() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1"
        diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/    /' | head -n 40 || true
    fi
}

# The expected installed files, as "PATH" and "PATH -> TARGET" lines.
expected_paths() {
    manifest | while read -r type mode dest src; do
        case "$type" in
            file) echo "$dest" ;;
            link) echo "$dest -> $src" ;;
        esac
    done | sort
}

# A fake ECR on 127.0.0.1: GetAuthorizationToken answers
# base64("AWS:<registryId>-pw") for each registryId, valid 12 hours; one line
# per call in $WORK/ecr-calls. Sets ECR_PORT.
ECR_PORT=""
start_fake_ecr() {
    cat >"$WORK/fake_ecr.py" <<'PY'
import base64, json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT_FILE, CALLS = sys.argv[1], sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        ids = json.loads(body or b"{}").get("registryIds") or ["000000000000"]
        with open(CALLS, "a") as f:
            f.write(f"{target} {','.join(ids)}\n")
        if not target.endswith(".GetAuthorizationToken"):
            return self.answer(400, {"__type": "UnknownOperationException"})
        self.answer(200, {"authorizationData": [{
            "authorizationToken": base64.b64encode(f"AWS:{i}-pw".encode()).decode(),
            "expiresAt": time.time() + 43200,
            "proxyEndpoint": f"https://{i}.dkr.ecr.us-east-1.amazonaws.com",
        } for i in ids]})

    def answer(self, status, doc):
        out = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 1
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(PORT_FILE + ".tmp", PORT_FILE)
deadline = time.time() + 600  # never outlives a stuck test
while time.time() < deadline:
    server.handle_request()
PY
    python3 "$WORK/fake_ecr.py" "$WORK/ecr-port" "$WORK/ecr-calls" >"$WORK/fake_ecr.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        [ -s "$WORK/ecr-port" ] && break
        sleep 0.05
    done
    [ -s "$WORK/ecr-port" ] || { cat "$WORK/fake_ecr.log" >&2; die "the fake ECR did not start"; }
    ECR_PORT="$(cat "$WORK/ecr-port")"
}

# run_helper ROOT PROGRAM ARGS...: the installed program in a hermetic
# environment pointed at the fake ECR.
run_helper() {
    local root="$1" program="$2"
    shift 2
    env -i PATH=/usr/bin:/bin HOME="$WORK/home" \
        AWS_ECR_CACHE_DIR="$WORK/home/cache" \
        AWS_ACCESS_KEY_ID=AKIAPACKAGETEST000001 AWS_SECRET_ACCESS_KEY=package-test-secret \
        AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_ENDPOINT_URL_ECR="http://127.0.0.1:${ECR_PORT:-9}" AWS_ECR_TIMEOUT=5 \
        "$root$program" "$@"
}

deb_field() { dpkg-deb --field "$DEB" "$1"; }
rpm_q() { rpm -qp --queryformat "$1" "$RPM" 2>/dev/null; }

json_field() { # json_field EXPRESSION < JSON: prints python's eval of EXPRESSION on `d`
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

test_deb() {
    echo "# .deb: $DEB"
    local info contents
    info="$(dpkg-deb --info "$DEB")"
    contents="$(dpkg-deb --contents "$DEB")"
    same "deb Package" "$NAME" "$(deb_field Package)"
    same "deb Version" "$VERSION" "$(deb_field Version)"
    same "deb Architecture" "$(deb_arch)" "$(deb_field Architecture)"
    same "deb Maintainer" "$MAINTAINER" "$(deb_field Maintainer)"
    same "deb Section" utils "$(deb_field Section)"
    same "deb Priority" optional "$(deb_field Priority)"
    same "deb Replaces" amazon-ecr-credential-helper "$(deb_field Replaces)"
    same "deb Conflicts" amazon-ecr-credential-helper "$(deb_field Conflicts)"
    same "deb Provides" amazon-ecr-credential-helper "$(deb_field Provides)"
    same "deb Description synopsis" "$SUMMARY" "$(deb_field Description | head -n1)"
    check "deb Description has the extended text" test "$(deb_field Description | wc -l)" -gt 3
    if [ -n "$HOMEPAGE" ]; then
        same "deb Homepage" "$HOMEPAGE" "$(deb_field Homepage)"
    else
        echo "# SKIP deb Homepage: Cargo.toml has no homepage or repository"
    fi
    check "deb Depends names libc6" grep -q '^libc6\b' <<<"$(deb_field Depends)"
    check "deb Installed-Size" grep -qE '^[0-9]+$' <<<"$(deb_field Installed-Size)"
    check "dpkg-deb --info lists control and md5sums" \
        bash -c 'grep -q " control" <<<"$1" && grep -q " md5sums" <<<"$1"' _ "$info"
    # Files and links, against packaging/files.txt; everything owned by root.
    local listed
    listed="$(awk '$1 !~ /^d/ { sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +\./, ""); print }' <<<"$contents" | sort)"
    same "deb file list is packaging/files.txt" "$(expected_paths)" "$listed"
    check "deb files belong to root:root" bash -c '! awk "{print \$2}" <<<"$1" | grep -v "^root/root$"' _ "$contents"
    check "deb binary is 0755" grep -qE "^-rwxr-xr-x .* \./usr/bin/$NAME\$" <<<"$contents"
    local dir
    for dir in $(owned_dirs); do
        check "deb has the directory $dir" grep -qE "^d.* \.$dir/\$" <<<"$contents"
    done

    # Installed into a scratch root (never over the Go helper in /usr/bin).
    local root="$WORK/deb-root"
    rm -rf "$root"
    mkdir -p "$root" "$WORK/home"
    dpkg-deb -x "$DEB" "$root"
    local bin="/usr/bin/$NAME"
    check "installed binary is the packaged one" cmp "$BINARY" "$root$bin"
    local version_out
    version_out="$(run_helper "$root" "$bin" --version 2>&1 || true)"
    check "--version prints $VERSION and a commit" \
        grep -qE "^$NAME .*$VERSION \([0-9a-f]{7,}\)\$" <<<"$version_out"
    local help_out help_code=0
    help_out="$(run_helper "$root" "$bin" --help 2>&1)" || help_code=$?
    check "--help exits 0 and shows the commands" \
        bash -c '[ "$1" = 0 ] && grep -q configure <<<"$2" && grep -q doctor <<<"$2"' _ "$help_code" "$help_out"

    start_fake_ecr
    local host=111111111111.dkr.ecr.us-east-1.amazonaws.com out
    out="$(printf '%s\n' "$host" | run_helper "$root" "$bin" get 2>"$WORK/get.err" || true)"
    same "get against the fake ECR" \
        "{\"ServerURL\":\"$host\",\"Username\":\"AWS\",\"Secret\":\"111111111111-pw\"}" "$out"
    if [ -s "$WORK/get.err" ]; then sed 's/^/    stderr: /' "$WORK/get.err" | head -n 10 || true; fi
    check "get asked the API for account 111111111111" grep -q "GetAuthorizationToken 111111111111" "$WORK/ecr-calls"
    out="$(printf '%s\n' "$host" | run_helper "$root" "$bin" get 2>/dev/null || true)"
    same "second get is served from the cache" "1" "$(grep -c GetAuthorizationToken "$WORK/ecr-calls")"
    out="$(run_helper "$root" "$bin" list 2>/dev/null || true)"
    check "list shows the cached registry" grep -q "$host" <<<"$out"
    local code=0
    out="$(printf 'registry.example.com\n' | run_helper "$root" "$bin" get 2>/dev/null)" || code=$?
    same "get for a host that is not ECR: not found, exit 1" \
        "credentials not found in native keychain / 1" "$out / $code"

    # The kubelet provider: the link, by its name.
    local provider="/usr/libexec/$NAME/$PROVIDER"
    same "provider link target" "../../bin/$NAME" "$(readlink "$root$provider")"
    check "provider link resolves to the binary" test -x "$root$provider"
    local request='{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"222222222222.dkr.ecr.us-east-1.amazonaws.com/a:b"}'
    out="$(printf '%s' "$request" | run_helper "$root" "$provider" --v=2 2>"$WORK/provider.err" || true)"
    same "provider answers a CredentialProviderRequest with the token" \
        "CredentialProviderResponse AWS 222222222222-pw" \
        "$(json_field 'd["kind"] + " " + d["auth"]["222222222222.dkr.ecr.us-east-1.amazonaws.com"]["username"] + " " + d["auth"]["222222222222.dkr.ecr.us-east-1.amazonaws.com"]["password"]' <<<"$out" 2>&1)"
    if [ -s "$WORK/provider.err" ]; then sed 's/^/    stderr: /' "$WORK/provider.err" | head -n 10 || true; fi

    # The man page renders without warnings.
    local page="$root/usr/share/man/man1/$NAME.1.gz" rendered warnings
    rendered="$(LC_ALL=C.UTF-8 MANWIDTH=100 MANPAGER=cat man --warnings -l "$page" 2>"$WORK/man.err" || true)"
    warnings="$(cat "$WORK/man.err")"
    same "man page renders without warnings" "" "$warnings"
    local section
    for section in NAME SYNOPSIS DESCRIPTION COMMANDS ENVIRONMENT FILES "EXIT STATUS" "SEE ALSO"; do
        check "man page has $section" grep -q "^$section" <<<"$rendered"
    done
    check "man page documents AWS_ECR_CACHE_DIR" grep -q AWS_ECR_CACHE_DIR <<<"$rendered"

    # Completions load and complete.
    local bash_c="$root/usr/share/bash-completion/completions/$NAME"
    out="$(bash -c 'source "$1" || exit 1
        f="$(complete -p docker-credential-ecr-login | sed -n "s/.*-F \([^ ]*\) .*/\1/p")"
        [ -n "$f" ] || { echo "no completion registered"; exit 1; }
        COMP_WORDS=(docker-credential-ecr-login con); COMP_CWORD=1
        "$f" docker-credential-ecr-login con docker-credential-ecr-login
        echo "${COMPREPLY[@]}"' _ "$bash_c" 2>&1 || true)"
    same "bash completion completes 'con' to configure" configure "$out"
    local zsh_dir="$root/usr/share/zsh/vendor-completions"
    out="$(cd "$WORK" && HOME="$WORK/home" zsh -fc 'fpath=("$1" $fpath); autoload -U compinit; compinit -u -d "$2"
        source "$1/_docker-credential-ecr-login" || exit 1
        print -r -- "${_comps[docker-credential-ecr-login]}"' _ "$zsh_dir" "$WORK/zcompdump" 2>&1 || true)"
    same "zsh completion loads and is registered" _docker-credential-ecr-login "$out"
    local fish_c="$root/usr/share/fish/vendor_completions.d/$NAME.fish"
    out="$(HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share" \
        fish --no-config -c 'source $argv[1]; or exit 1; complete -C "docker-credential-ecr-login con"' "$fish_c" 2>&1 || true)"
    same "fish completion completes 'con' to configure" configure "$(cut -f1 <<<"$out")"

    # The shipped documents.
    local doc="$root/usr/share/doc/$NAME"
    check "changelog.gz is CHANGELOG.md" cmp <(gzip -dc "$doc/changelog.gz") CHANGELOG.md
    check "copyright names Apache-2.0" grep -q '^License: Apache-2.0' "$doc/copyright"
    check "kubelet sample config shipped" cmp "$doc/kubernetes/credential-provider-config.yaml" \
        packaging/kubernetes/credential-provider-config.yaml
}

test_rpm() {
    echo "# .rpm: $RPM"
    local info
    info="$(rpm -qip "$RPM" 2>&1)"
    same "rpm Name" "$NAME" "$(rpm_q '%{NAME}')"
    same "rpm Version" "$VERSION" "$(rpm_q '%{VERSION}')"
    same "rpm License" Apache-2.0 "$(rpm_q '%{LICENSE}')"
    same "rpm Summary" "$SUMMARY" "$(rpm_q '%{SUMMARY}')"
    same "rpm Arch" "$(uname -m)" "$(rpm_q '%{ARCH}')"
    if [ -n "$HOMEPAGE" ]; then same "rpm URL" "$HOMEPAGE" "$(rpm_q '%{URL}')"; fi
    if [ "$RPM_TOOL" = rpmbuild ]; then
        check "rpm -qip shows the description" grep -q "kubelet" <<<"$info"
    else
        echo "# SKIP rpm description: cargo-generate-rpm's is the summary"
    fi
    same "rpm Conflicts" amazon-ecr-credential-helper "$(rpm -qp --conflicts "$RPM" 2>/dev/null)"
    same "rpm Obsoletes" amazon-ecr-credential-helper "$(rpm -qp --obsoletes "$RPM" 2>/dev/null)"
    check "rpm Provides amazon-ecr-credential-helper" \
        grep -qx amazon-ecr-credential-helper <<<"$(rpm -qp --provides "$RPM" 2>/dev/null)"
    check "rpm Requires libc" grep -q '^libc\.so\.6' <<<"$(rpm -qp --requires "$RPM" 2>/dev/null)"
    # rpm -qlp: the files, links and owned directories; --dump: modes, link
    # targets and digests.
    local expected
    expected="$( (manifest | awk '{print $3}'; if [ "$RPM_TOOL" = rpmbuild ]; then owned_dirs; fi) | sort)"
    same "rpm -qlp is packaging/files.txt" "$expected" "$(rpm -qlp "$RPM" 2>/dev/null | sort)"
    local dump type mode dest src line
    dump="$(rpm -qp --dump "$RPM" 2>/dev/null)"
    while read -r type mode dest src; do
        line="$(awk -v p="$dest" '$1 == p' <<<"$dump")"
        case "$type:$RPM_TOOL" in
            file:* | link:cargo-generate-rpm)
                [ "$type" = link ] && mode=0755 # cargo-generate-rpm has no links: a copy of the binary
                [ "$src" = @binary ] || [ "$type" = link ] && src="$BINARY"
                local want
                if [[ "$dest" == *.gz && "$src" != *.gz ]]; then
                    want="$(gzip -9n -c "$src" | sha256sum | cut -d' ' -f1)"
                else
                    want="$(sha256sum <"$src" | cut -d' ' -f1)"
                fi
                same "rpm $dest: mode and content" "0100${mode#0} $want" "$(awk '{print $5, $4}' <<<"$line")"
                ;;
            link:rpmbuild)
                same "rpm $dest: link" "0120777 $src" "$(awk '{print $5, $11}' <<<"$line")"
                ;;
        esac
    done < <(manifest)
}

test_tarball() {
    echo "# tarball: $TARBALL"
    local listing prefix path
    listing="$(tar -tzf "$TARBALL")"
    prefix="$(head -n1 <<<"$listing")"
    same "tarball prefix" "$NAME-$VERSION/" "$prefix"
    # Everything the formula installs is in the tarball.
    for path in Cargo.toml Cargo.lock src/main.rs LICENSE \
        $(grep -o '"packaging/[^"*]*"' packaging/homebrew/$NAME.rb | tr -d '"'); do
        check "tarball has $path" grep -qx "$prefix$path" <<<"$listing"
    done
    check "formula is valid Ruby" ruby -c packaging/homebrew/$NAME.rb
}

cmd_test() {
    need dpkg-deb dpkg
    need python3 python3
    need man man-db
    need gzip gzip
    need zsh zsh
    need fish fish
    need ruby ruby
    [ "$RPM_TOOL" = rpmbuild ] && need rpmbuild rpm
    need rpm rpm
    load_metadata
    ensure_binary
    [ -n "$DEB" ] || cmd_deb
    [ -n "$RPM" ] || cmd_rpm
    [ -n "$TARBALL" ] || cmd_tarball
    test_deb
    test_rpm
    test_tarball
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}

for command in "${COMMANDS[@]}"; do
    case "$command" in
        stage) cmd_stage ;;
        deb) cmd_deb ;;
        rpm) cmd_rpm ;;
        tarball) cmd_tarball ;;
        formula) cmd_formula ;;
        test) cmd_test ;;
        all) cmd_stage; cmd_deb; cmd_rpm; cmd_tarball ;;
    esac
done
BUILT=()
for f in "$DEB" "$RPM" "$TARBALL"; do
    if [ -n "$f" ]; then BUILT+=("$(basename "$f")"); fi
done
if [ ${#BUILT[@]} -gt 0 ]; then
    (cd "$OUT" && sha256sum -- "${BUILT[@]}" >SHA256SUMS)
fi
