#!/bin/bash
# Restarts kube-apiserver with the watch cache off on run-kube-apiserver.sh's etcd, inside netns
# swcni-golden (called with ip netns exec).
. "$(dirname "$0")/kube-apiserver-flags.sh"
cd /work/golden-build
exec_kube_apiserver --watch-cache=false --v=1
