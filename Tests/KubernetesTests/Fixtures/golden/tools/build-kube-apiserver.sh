#!/bin/bash
set -e
export GOPATH=/work/golden-build/gopath GO111MODULE=off CGO_ENABLED=0 GOCACHE=/work/golden-build/gocache GOFLAGS=
cd $GOPATH/src/k8s.io/kubernetes
V=k8s.io/kubernetes/vendor/k8s.io/component-base/version
start=$(date +%s)
nice -n 19 go build -o /work/golden-build/kube-apiserver \
  -ldflags "-s -w -X $V.gitVersion=v1.20.2 -X $V.gitMajor=1 -X $V.gitMinor=20 -X $V.gitTreeState=archive -X $V.buildDate=2021-01-13T00:00:00Z" \
  ./cmd/kube-apiserver
echo "build took $(( $(date +%s) - start )) s"
