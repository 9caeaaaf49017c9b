# Registry aliases, end to end (README "Registry aliases"): sourced by
# suite.sh after its cases, in its namespace and shell (see the comment there
# for what it provides). A registry serving registry A's images under a
# corporate name, images.corp.example, behind which the rules file maps
# account A's ECR registry; skopeo pulls through it with credHelpers, and
# the helper answers with A's token. API = the fake ECR (tokens valid 12 h),
# so that the cache and the API calls can be counted.
# Sourced: suite.sh sets KIND and reads API_MODE; the bash -c scripts are
# single-quoted on purpose.
# shellcheck shell=bash disable=SC2016,SC2034,SC2153

say "== alias: a registry under a corporate name, mapped to ${A%%.*} by the rules file"

ALIAS=images.corp.example ALIAS_IP=192.0.2.21
AL=$T/alias
mkdir -p "$AL"

alias_setup() {
    ip addr add "$ALIAS_IP/32" dev lo || return 1
    echo "$ALIAS_IP $ALIAS" >>"$T/etc/hosts" || return 1
    [ "$(getent hosts "$ALIAS" | awk '{print $1}')" = "$ALIAS_IP" ] || { echo "$ALIAS does not resolve"; return 1; }
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$P/$ALIAS.key" -out "$P/$ALIAS.csr" -subj "/CN=$ALIAS" &&
        printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
            "$ALIAS" >"$P/$ALIAS.ext" &&
        openssl x509 -req -in "$P/$ALIAS.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
            -days 2 -extfile "$P/$ALIAS.ext" -out "$P/$ALIAS.crt" || return 1
    local d
    for d in /etc/containers/certs.d /etc/docker/certs.d; do
        mkdir -p "$d/$ALIAS" && cp "$P/ca.crt" "$d/$ALIAS/ca.crt" || return 1
    done
    # Registry A's images, its user and password: what a proxy in front of A shows.
    start_registry alias "$ALIAS" "$ALIAS_IP" AWS "$A_PW" a
    local _
    for _ in $(seq 600); do
        [ "$(curl -s -m 2 -o /dev/null -w "%{http_code}" --cacert "$P/ca.crt" "https://$ALIAS/v2/")" = 401 ] && return 0
        sleep 0.1
    done
    echo "the registry at $ALIAS did not come up"
    tail -n 20 "$LOGS/registry-alias.log"
    return 1
}

if ! alias_setup >"$LOGS/alias-setup.log" 2>&1; then
    record FAIL alias "set-up: $ALIAS on $ALIAS_IP, its certificate, a registry of ${A%%.*}'s images" \
        "$(tail -n 5 "$LOGS/alias-setup.log" | tr '\n' ' ')"
else
    record PASS alias "set-up: $ALIAS on $ALIAS_IP, a certificate from the test CA, a registry of ${A%%.*}'s images"
    printf '# the stable name of account %s'"'"'s registry\n[[registry]]\nhost = "%s"\nregistry = "%s"\n' \
        "${A%%.*}" "$ALIAS" "$A" >"$AL/config.toml"
    : >"$AL/empty.toml"
    API_MODE=fake
    ALIAS_ENV=(AWS_ENDPOINT_URL="http://127.0.0.1:$FAKE_PORT" AWS_ECR_CACHE_DIR="$T/cache-alias"
        AWS_ECR_CONFIG_FILE="$AL/config.toml")
    fake0=$(api_count)

    client alias alias "configure --registry $ALIAS: the rule names it" "ok:$ALIAS is an alias \\(.* line 2\\) for $A" \
        "${ALIAS_ENV[@]}" -- docker-credential-ecr-login configure --registry "$ALIAS" --no-docker --containers-auth "$AL/auth.json"
    check alias "auth.json: credHelpers has exactly $ALIAS" json_check "$AL/auth.json" \
        'd == {"credHelpers": {A[0]: "ecr-login"}}' "$ALIAS"
    client alias alias "configure refuses other.corp.example (no rule names it)" "fail:not an Amazon ECR registry host" \
        "${ALIAS_ENV[@]}" -- docker-credential-ecr-login configure --registry other.corp.example --no-docker --containers-auth "$AL/auth.json"
    check alias "after the refusal auth.json still names $ALIAS only" json_check "$AL/auth.json" \
        'd == {"credHelpers": {A[0]: "ecr-login"}}' "$ALIAS"

    use_kind oci
    client alias alias "anonymous inspect of $ALIAS is refused$K" "fail:unauthorized|authentication required|401" -- \
        skopeo inspect --no-creds "docker://$ALIAS/$REPO"
    # The same credHelpers entry without the rule: the helper has no token for
    # the name, the registry refuses, and AWS is never asked.
    client alias alias "inspect $ALIAS with no alias rule is refused$K" "fail:unauthorized|authentication required|401" \
        "${ALIAS_ENV[@]}" AWS_ECR_CONFIG_FILE="$AL/empty.toml" REGISTRY_AUTH_FILE="$AL/auth.json" -- \
        skopeo inspect "docker://$ALIAS/$REPO"
    check alias "without the rule: no API call" test "$(api_count)" -eq "$fake0"

    for kind in "${KINDS[@]}"; do
        use_kind "$kind"
        client alias alias "inspect $ALIAS/$REPO through credHelpers$K" "ok:$DIGEST_RE" \
            "${ALIAS_ENV[@]}" REGISTRY_AUTH_FILE="$AL/auth.json" -- skopeo inspect "docker://$ALIAS/$REPO"
        out=$T/out/alias-skopeo-$KIND
        client alias alias "copy $ALIAS/$REPO to oci: through credHelpers$K" ok \
            "${ALIAS_ENV[@]}" REGISTRY_AUTH_FILE="$AL/auth.json" -- skopeo copy --quiet "docker://$ALIAS/$REPO" "oci:$out:x"
        check alias "the copy through $ALIAS holds the pushed layer and config$K" \
            test -s "$out/blobs/sha256/$LDIG" -a -s "$out/blobs/sha256/$CDIG"
    done
    # The helper's own answers: the name asked for, A's token; then A's own
    # host, from the same cache entry.
    client alias alias "get $ALIAS: ServerURL as asked, ${A%%.*}'s token" \
        "ok:\"ServerURL\":\"https://$ALIAS\",\"Username\":\"AWS\",\"Secret\":\"$A_PW\"" "${ALIAS_ENV[@]}" -- \
        bash -c 'printf "%s\n" "$1" | docker-credential-ecr-login get' _ "https://$ALIAS"
    client alias alias "get $A after the alias: its entry, no call" "ok:\"Secret\":\"$A_PW\"" "${ALIAS_ENV[@]}" -- \
        bash -c 'printf "%s\n" "$1" | docker-credential-ecr-login get' _ "$A"

    calls=$(tail -n "+$((fake0 + 1))" "$T/fake-calls.txt")
    check alias "one GetAuthorizationToken in all, for ${A%%.*} in us-east-1 (fake ECR: $(printf '%s' "$calls" | tr '\n' ';'))" \
        test "$calls" = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken us-east-1 ${A%%.*}"
    check alias "the helper logged one call and was asked for $ALIAS by skopeo (gets=$(helper_gets alias alias "$ALIAS"), calls=$(helper_api_calls alias alias))" \
        bash -c '[ "$1" -ge 4 ] && [ "$2" -eq 1 ]' _ "$(helper_gets alias alias "^$ALIAS\$")" "$(helper_api_calls alias alias)"
    check alias "one cache entry, for ${A%%.*}'s registry" \
        bash -c 'f=$(find "$1" -maxdepth 1 -name "*.json"); [ "$(printf "%s\n" "$f" | grep -c .)" -eq 1 ] && grep -qF "\"$2\"" $f' \
        _ "$T/cache-alias" "$A"
    # Its htpasswd holds user AWS with A's password: a 200 is the token accepted.
    check alias "the registry at $ALIAS served skopeo the manifests (both kinds) with the token" \
        bash -c 'for k in v2s2 oci; do grep -Eq "\"GET /v2/team/app/manifests/1\.0-$k HTTP/[0-9.]+\" 200 .*skopeo" "$1" || exit 1; done' \
        _ "$LOGS/registry-alias.log"
    API_MODE=moto
fi
