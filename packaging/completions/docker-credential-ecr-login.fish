# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_docker_credential_ecr_login_global_optspecs
    string join \n v/version h/help
end

function __fish_docker_credential_ecr_login_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_docker_credential_ecr_login_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_docker_credential_ecr_login_using_subcommand
    set -l cmd (__fish_docker_credential_ecr_login_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -s v -l version -d 'Print the version and the git commit it was built from (version: the bare version)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "get" -d 'Read a registry URL on stdin and print its credentials as JSON (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "list" -d 'Print the registries that have a cached token (docker protocol; no network)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "store" -d 'Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "erase" -d 'Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "version" -d 'Print the bare version, as scripts parse it (--version, -v: with the git commit)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "configure" -d 'Add credHelpers entries for ECR registries to the docker config (and containers auth.json)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "policy" -d 'Print (or apply) the repository policy and the identity policy a cross-account pull needs'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "kubelet" -d 'Serve the kubelet as its image credential provider (KEP-2133)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "doctor" -d 'Explain why an image cannot be pulled: walks host, docker config, credentials, token, repository'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand get" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand list" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand store" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand erase" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand version" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l registry -d 'An ECR registry host, or an alias the rules file names, to route to this helper (repeatable)' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l account -d 'A registry account ID, with --region (repeatable)' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l region -d 'The region of the --account registries, or of the default registry' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l docker-config -d 'The docker config file [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l containers-auth -d 'The containers auth file, implies --containers [default: $REGISTRY_AUTH_FILE or $XDG_CONFIG_HOME/containers/auth.json]' -r -F
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l containers -d 'Also configure the containers auth.json read by podman, skopeo and buildah'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l no-docker -d 'Leave the docker config alone (with --containers: configure only auth.json)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l dry-run -d 'Print the resulting files instead of writing them'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -l remove -d 'Take the entries out again'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand configure" -s h -l help -d 'Print help'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l registry -d 'The registry, as its host: gives the account, region and partition' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l registry-account -d 'The registry\'s account ID, with --region' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l region -d 'The registry\'s region, with --registry-account' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l repository -d 'A repository (repeatable); without one the identity policy covers them all' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l allow-account -d 'Let this account\'s principals pull (repeatable)' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l allow-org -d 'Let every account of this AWS Organization pull (aws:PrincipalOrgID)' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l allow-org-path -d 'Let the accounts below this organization path pull (aws:PrincipalOrgPaths; repeatable)' -r
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l access -d 'pull, or push (which adds the push actions)' -r -f -a "pull\t''
push\t''"
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l document -d 'Print only this document, as plain JSON' -r -f -a "repository\t'The registry account\'s repository policy'
identity\t'The caller account\'s identity (IAM) policy'"
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l apply -d 'Set the repository policy on each --repository (SetRepositoryPolicy): adds the named principals and actions to this tool\'s statements, takes nothing away'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l dry-run -d 'With --apply: show the change, write nothing'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l revoke -d 'With --apply: take the named accounts, organizations and paths out of this tool\'s statements, saying what is lost'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -l replace -d 'With --apply: make this tool\'s statements exactly what is named, --access included, saying what is lost'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand policy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand kubelet" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand doctor" -l docker-config -d 'The docker config to check [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand doctor" -l json -d 'Print the report as JSON'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand doctor" -l no-docker-config -d 'Skip the docker config check (kubelet nodes, podman with auth.json)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "get" -d 'Read a registry URL on stdin and print its credentials as JSON (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "list" -d 'Print the registries that have a cached token (docker protocol; no network)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "store" -d 'Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "erase" -d 'Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "version" -d 'Print the bare version, as scripts parse it (--version, -v: with the git commit)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "configure" -d 'Add credHelpers entries for ECR registries to the docker config (and containers auth.json)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "policy" -d 'Print (or apply) the repository policy and the identity policy a cross-account pull needs'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "kubelet" -d 'Serve the kubelet as its image credential provider (KEP-2133)'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "doctor" -d 'Explain why an image cannot be pulled: walks host, docker config, credentials, token, repository'
complete -c docker-credential-ecr-login -n "__fish_docker_credential_ecr_login_using_subcommand help; and not __fish_seen_subcommand_from get list store erase version configure policy kubelet doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
