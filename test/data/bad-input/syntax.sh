#!/bin/sh
# does not parse: a fi without its if
echo start
fi
