_docker__credential__ecr__login() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="docker__credential__ecr__login"
                ;;
            docker__credential__ecr__login,configure)
                cmd="docker__credential__ecr__login__subcmd__configure"
                ;;
            docker__credential__ecr__login,doctor)
                cmd="docker__credential__ecr__login__subcmd__doctor"
                ;;
            docker__credential__ecr__login,erase)
                cmd="docker__credential__ecr__login__subcmd__erase"
                ;;
            docker__credential__ecr__login,get)
                cmd="docker__credential__ecr__login__subcmd__get"
                ;;
            docker__credential__ecr__login,help)
                cmd="docker__credential__ecr__login__subcmd__help"
                ;;
            docker__credential__ecr__login,kubelet)
                cmd="docker__credential__ecr__login__subcmd__kubelet"
                ;;
            docker__credential__ecr__login,list)
                cmd="docker__credential__ecr__login__subcmd__list"
                ;;
            docker__credential__ecr__login,policy)
                cmd="docker__credential__ecr__login__subcmd__policy"
                ;;
            docker__credential__ecr__login,store)
                cmd="docker__credential__ecr__login__subcmd__store"
                ;;
            docker__credential__ecr__login,version)
                cmd="docker__credential__ecr__login__subcmd__version"
                ;;
            docker__credential__ecr__login__subcmd__help,configure)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__configure"
                ;;
            docker__credential__ecr__login__subcmd__help,doctor)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__doctor"
                ;;
            docker__credential__ecr__login__subcmd__help,erase)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__erase"
                ;;
            docker__credential__ecr__login__subcmd__help,get)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__get"
                ;;
            docker__credential__ecr__login__subcmd__help,help)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__help"
                ;;
            docker__credential__ecr__login__subcmd__help,kubelet)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__kubelet"
                ;;
            docker__credential__ecr__login__subcmd__help,list)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__list"
                ;;
            docker__credential__ecr__login__subcmd__help,policy)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__policy"
                ;;
            docker__credential__ecr__login__subcmd__help,store)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__store"
                ;;
            docker__credential__ecr__login__subcmd__help,version)
                cmd="docker__credential__ecr__login__subcmd__help__subcmd__version"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        docker__credential__ecr__login)
            opts="-v -h --version --help get list store erase version configure policy kubelet doctor help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__configure)
            opts="-h --registry --account --region --docker-config --containers --containers-auth --no-docker --dry-run --remove --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --registry)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --account)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --region)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --containers-auth)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__doctor)
            opts="-h --json --docker-config --no-docker-config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --docker-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__erase)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__get)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help)
            opts="get list store erase version configure policy kubelet doctor help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__configure)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__doctor)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__erase)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__get)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__kubelet)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__policy)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__store)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__help__subcmd__version)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__kubelet)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__list)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__policy)
            opts="-h --registry --registry-account --region --repository --allow-account --allow-org --allow-org-path --access --document --apply --dry-run --revoke --replace --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --registry)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --registry-account)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --region)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --repository)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --allow-account)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --allow-org)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --allow-org-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --access)
                    COMPREPLY=($(compgen -W "pull push" -- "${cur}"))
                    return 0
                    ;;
                --document)
                    COMPREPLY=($(compgen -W "repository identity" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__store)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        docker__subcmd__credential__subcmd__ecr__subcmd__login__subcmd__version)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _docker__credential__ecr__login -o nosort -o bashdefault -o default docker-credential-ecr-login
else
    complete -F _docker__credential__ecr__login -o bashdefault -o default docker-credential-ecr-login
fi
