# shellcheck shell=bash
# util: two small helpers with no job of their own (lists of words, elapsed seconds).

# Succeeds when word $2 is one of the words of list $1 (space/newline separated).
ft_util_in_list() { local w; for w in $1; do [[ $w == "$2" ]] && return 0; done; return 1; }

# Prints the whole seconds elapsed since $1 (epoch seconds).
ft_util_since() { echo $(($(date +%s) - $1)); }
