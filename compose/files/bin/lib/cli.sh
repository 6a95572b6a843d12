# shellcheck shell=bash
# cli: what every command does with its own command line.

# Prints the usage: every line of the running command ($0) that starts with "#/", without it.
ft_cli_usage() { sed -n 's/^#\/ \{0,1\}//p' "$0"; }

# ft_cli_help "$@": prints the usage and exits 0 when any argument is -h or --help.
ft_cli_help() {
  local a
  for a in "$@"; do
    case $a in -h | --help) ft_cli_usage; exit 0 ;; esac
  done
}
