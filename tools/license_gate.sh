#!/usr/bin/env bash
# Decide whether `wg-license check`'s exit code fails a CI job, given the families to fail on.
#
#   tools/license_gate.sh EXIT_CODE FAIL_ON       e.g.  tools/license_gate.sh 5 declaration,deps
#
# EXIT_CODE is check's bitmask (1 declaration, 2 text, 4 propagation, 8 artifacts, 16 deps).
# FAIL_ON is a comma-separated list of those names, or "all", or "none".
# Exit 0: pass; 1: a selected family has findings; 2: bad arguments or check itself failed.
set -uo pipefail
code=${1:?usage: license_gate.sh EXIT_CODE FAIL_ON}
fail_on=${2:-all}
mask=0
IFS=', ' read -ra names <<<"$fail_on"
for name in "${names[@]}"; do
    case $name in
        declaration) ((mask |= 1)) ;;
        text) ((mask |= 2)) ;;
        propagation) ((mask |= 4)) ;;
        artifacts) ((mask |= 8)) ;;
        deps) ((mask |= 16)) ;;
        all) ((mask |= 31)) ;;
        none | "") ;;
        *)
            echo "::error::unknown fail-on family '$name': use declaration, text, propagation, artifacts, deps, all or none"
            exit 2 ;;
    esac
done
if ! [[ $code =~ ^[0-9]+$ ]] || ((code > 31)); then
    echo "::error::wg-license check did not run to the end (exit $code): see its output above"
    exit 2
fi
families=()
for pair in 1:declaration 2:text 4:propagation 8:artifacts 16:deps; do
    bit=${pair%%:*}
    ((code & bit & mask)) && families+=("${pair#*:}")
done
if ((${#families[@]})); then
    echo "::error::licence findings in: ${families[*]} (exit code $code)"
    exit 1
fi
echo "licence check: no findings in the selected families (exit code $code, fail-on $fail_on)"
