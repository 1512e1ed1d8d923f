#!/bin/bash
set -e
export PATH=/work/golden-build/stub:$PATH GOPATH=/work/golden-build/gopath GO111MODULE=off GOCACHE=/work/golden-build/gocache HOME=/work/golden-build/home
mkdir -p $HOME
cd $GOPATH/src/k8s.io/kubernetes
start=$(date +%s)
nice -n 19 make gen_openapi
echo "gen_openapi took $(( $(date +%s) - start )) s"
ls -la pkg/generated/openapi/
