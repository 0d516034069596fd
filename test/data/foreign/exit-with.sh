#!/bin/sh
# exit-with.sh STATUS MESSAGE: says MESSAGE on stderr, as a test that prints no verdict line
# does, and exits STATUS. The working directory is the test filesystem.
echo "in $(pwd) on $DAXLAB_FS dax=$DAXLAB_DAX" 
echo "$2" >&2
exit "$1"
