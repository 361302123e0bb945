#!/bin/bash
# kvfence: check the bash completion against the binary's own "--help".
#
# usage: completion-check.sh KVFENCE COMPLETION-FILE
#        completion-check.sh KVFENCE --installed
# The first form sources the file; the second starts an interactive bash
# that loads bash-completion the way a user's shell does and lets its
# loader find kvfence's completion where the package installed it
# ("complete -p kvfence" must then name _kvfence).
#
# Each case drives _kvfence through COMP_WORDS/COMP_CWORD and compares the
# candidates (sorted) with the expected ones. The commands, the global
# options and each command's options are read from "KVFENCE --help", so a
# command added to the binary but not to the completion fails here.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KVFENCE COMPLETION-FILE|--installed" >&2; exit 64; }
bin=$1 file=$2

help=$("$bin" --help) || { echo "$bin --help failed"; exit 1; }
# "  kvfence [-c FILE] rules [--hook output|forward]" -> rules
commands=$(sed -n 's/^  kvfence \[-c FILE\] \([a-z][a-z-]*\).*/\1/p' <<<"$help" | sort | tr '\n' ' ')
# "  -c, --config FILE  ..." -> -c --config
globals=$(sed -n 's/^  \(-[a-zA-Z]\), \(--[a-z-]*\).*/\1\n\2/p' <<<"$help" | sort | tr '\n' ' ')
[ -n "$commands" ] && [ -n "$globals" ] || { echo "cannot read commands/options from --help"; exit 1; }
cmd_opts() {	# the dash words of one command's usage line
	sed -n "s/^  kvfence \[-c FILE\] $1\b//p" <<<"$help" | grep -o -- '-[a-z-]*' | sort | tr '\n' ' '
}

dir=$(mktemp -d /tmp/kvfence-compl.XXXXXX)
trap 'rm -rf "$dir"' EXIT
touch "$dir/kvfence.conf" "$dir/kvother.conf" "$dir/unrelated"
mkdir "$dir/kvdir"

# One case per line: expected candidates (space-separated, sorted; "-"
# for none) TAB the words of the command line, the last one being the
# word under the cursor ('' for an empty one).
cases=$(mktemp "$dir/cases.XXXXXX")
{
	printf '%s\t%s\n' "$commands" "kvfence ''"
	printf '%s\t%s\n' "$globals" "kvfence -"
	printf '%s\t%s\n' "$(tr ' ' '\n' <<<"$commands" | grep '^s' | tr '\n' ' ')" "kvfence s"
	printf '%s\t%s\n' "$dir/kvdir $dir/kvfence.conf $dir/kvother.conf" "kvfence -c $dir/kv"
	printf '%s\t%s\n' "$dir/kvfence.conf" "kvfence --config = $dir/kvf"
	printf '%s\t%s\n' "$commands" "kvfence -v -c $dir/kvfence.conf ''"
	printf '%s\t%s\n' "$commands" "kvfence --config = $dir/kvfence.conf ''"
	for c in $commands; do
		o=$(cmd_opts "$c")
		printf '%s\t%s\n' "${o:--}" "kvfence -c /x $c -"
	done
	printf '%s\t%s\n' "forward output" "kvfence rules --hook ''"
} > "$cases"

driver='
fail=0
while IFS=$(printf "\t") read -r want line; do
	eval "COMP_WORDS=($line)"
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_kvfence kvfence "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	got=$(printf "%s\n" "${COMPREPLY[@]}" | sed "/^$/d" | sort | tr "\n" " ")
	[ -n "$got" ] || got=-
	if [ "$(echo $got)" = "$(echo $want)" ]; then
		echo "ok   [$line] -> $got"
	else
		echo "FAIL [$line] -> $got (want $want)"; fail=1
	fi
done < "$CASES"
exit $fail
'

if [ "$file" = --installed ]; then
	bc=/usr/share/bash-completion/bash_completion
	[ -r "$bc" ] || { echo "$bc: bash-completion is not installed"; exit 1; }
	# An interactive shell, as a user's: bash-completion loaded, then its
	# on-demand loader asked for kvfence (what the first <TAB> does).
	printf '. %s\n' "$bc" > "$dir/rc"
	CASES=$cases bash --rcfile "$dir/rc" -i 2>&1 <<EOF
__load_completion kvfence || _completion_loader kvfence
spec=\$(complete -p kvfence 2>&1)
echo "complete -p kvfence: \$spec"
case \$spec in *"-F _kvfence kvfence"*) ;; *) exit 1 ;; esac
$driver
EOF
else
	CASES=$cases bash -c ". '$file'; complete -p kvfence; $driver"
fi
