#!/bin/bash
# Runs etcd + kube-apiserver inside netns swcni-golden (called with ip netns exec).
. "$(dirname "$0")/kube-apiserver-flags.sh"
cd /work/golden-build
rm -rf etcd-real
nice -n 19 etcd --name real --data-dir /work/golden-build/etcd-real \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster real=http://127.0.0.1:2380 > etcd-real.log 2>&1 &
echo $! > etcd-real.pid
sleep 2
exec_kube_apiserver --v=1
