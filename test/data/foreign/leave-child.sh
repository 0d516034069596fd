#!/bin/sh
# Starts a process that outlives the script, in the test filesystem: the agent must kill it when
# the step ends, or the umount after the step would find the filesystem busy.
sleep 1000 &
echo "left pid $! behind in $(pwd)"
exit 0
