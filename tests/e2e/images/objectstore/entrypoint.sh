#!/bin/sh
# As chrislusf/seaweedfs's entrypoint.sh: `server|s3|mini ...` run weed with that subcommand,
# a leading `weed` is accepted too; anything else is executed as is.
case "$1" in
  weed) shift; exec /usr/bin/weed "$@" ;;
  server | s3 | mini | master | volume | filer) exec /usr/bin/weed -logtostderr=true "$@" ;;
  *) exec "$@" ;;
esac
