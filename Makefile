# swift-cni: the two set-up commands of a fresh Debian 12 machine are `make demo` and `make test`.
# Both install the Debian packages the project needs when they are missing (root, apt-get).

SWIFT ?= swift
PREFIX ?= /opt/cni
DEBIAN_PACKAGES := libnl-3-dev libnftnl-dev libmnl-dev libssl-dev openssl pkg-config \
	containernetworking-plugins iproute2 nftables iptables iputils-ping iperf3 \
	etcd-server etcd-client bird2 gobgpd podman crun containerd runc busybox-static jq curl procps tcpdump \
	wireguard-go wireguard-tools tinc

.PHONY: deps build release test demo clean install-plugins example-packages docs

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q $$missing; \
	else echo "Debian packages: all present"; fi
	@# The PyPI kubernetes client checks the fixture API server in KubernetesTests.
	@python3 -c 'import kubernetes' 2>/dev/null || python3 -m pip install --quiet kubernetes

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Five phases over one build. Suites that serve a protocol from inside the test process (the
# Kubernetes fixture API server and informers, weave's agent socket, the Mesh runtime with short
# timers) stalled when run beside the privileged lab suites on 2 cores: those keep the two
# threads of the concurrency pool busy with blocking waits, and the in-process servers need the
# pool (Documentation/Testing.md). Phases 1, 1b, 2 and 4 run their tests in parallel; phase 3 (the
# agents against an in-process fixture in node namespaces) runs serially. No test is skipped.
# Phase 2: suites with in-process servers and no blocking lab waits (the Kubernetes fixture and
# informers, weave's agent socket, the BGP speaker (loopback and against bird2/gobgpd in
# namespaces), the agents' status server).
IN_PROCESS_SUITES := KubernetesTests|KubeSyncTests|KubeSubnetManagerUnitTests|CanaldKubeModeTests|AgentSocketTests|BGPTests\.|StatusServerTests
# Phase 1b: the test modules that build labs and clusters of agents in namespaces (long blocking
# waits: pings, agents starting, captures). The rest of phase 1 (unit suites and short privileged
# ones, among them the file store's watch poller) runs before them, not beside them.
LAB_MODULES := LabTests\.|LabMeasurementTests\.|WeaveTests\.|SwiftCalicoTests\.|SwiftCanalTests\.|SwiftFlannelTests\.|FlannelAgentTests\.|SwiftPTPTests\.|NetpolConformanceTests\.|PolicyAgentTests\.
KUBE_LAB_SUITES := FlannelKubeLabTests|CalicoNodeKubeTests|CalicoNodeKubeLabTests|KubeLabTests|CalicoPodLabelsKubeTests|CanalPodLabelsKubeTests
test: deps
	$(SWIFT) test --skip '$(IN_PROCESS_SUITES)|$(KUBE_LAB_SUITES)|MeshTests|$(LAB_MODULES)'
	$(SWIFT) test --skip-build --filter '$(LAB_MODULES)' --skip '$(IN_PROCESS_SUITES)|$(KUBE_LAB_SUITES)'
	$(SWIFT) test --skip-build --filter '$(IN_PROCESS_SUITES)'
	$(SWIFT) test --skip-build --no-parallel --filter '$(KUBE_LAB_SUITES)'
	$(SWIFT) test --skip-build --filter MeshTests

# cnilab demo: 3 node namespaces with swift-flanneld, 2 pods per node (swift-flannel), a probe, down.
demo: deps
	for product in cnilab cnilab-pod-server swift-flanneld swift-flannel; do \
	  $(SWIFT) build -c release --product $$product || exit 1; \
	done
	$$($(SWIFT) build -c release --show-bin-path)/cnilab demo

# The CNI plugin binaries, built release as fully static executables (the node needs no Swift
# installation and no shared library; no dynamic loader at each pod's ADD), copied to
# $(PREFIX)/bin (`make install-plugins PREFIX=/opt/cni`). They build in their own scratch
# directory, since the flags differ from a normal build. PLUGIN_BIN_DIR=DIR installs binaries
# already built there instead (the install test uses it).
PLUGINS ?= swift-flannel swift-ipam swift-calico swift-canal swift-ptp swift-weave
PLUGIN_SCRATCH_PATH ?= .build-plugins
PLUGIN_BUILD_FLAGS := -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path $(PLUGIN_SCRATCH_PATH)
install-plugins:
	@set -e; \
	if [ -n "$(PLUGIN_BIN_DIR)" ]; then bin="$(PLUGIN_BIN_DIR)"; else \
	  for p in $(PLUGINS); do $(SWIFT) build $(PLUGIN_BUILD_FLAGS) --product $$p; done; \
	  bin=$$($(SWIFT) build $(PLUGIN_BUILD_FLAGS) --show-bin-path); \
	fi; \
	install -d "$(PREFIX)/bin"; \
	for p in $(PLUGINS); do install -m 0755 "$$bin/$$p" "$(PREFIX)/bin/$$p"; echo "installed $(PREFIX)/bin/$$p"; done

# The examples kept as packages of their own (they depend on swift-cni by path and use its
# public API only), built as an outside user builds them. CI runs this.
EXAMPLE_PACKAGES ?= Examples/swift-ptp
example-packages: deps
	for package in $(EXAMPLE_PACKAGES); do $(SWIFT) build --package-path $$package || exit 1; done

# Every DocC catalog (Sources/*/*.docc), warnings as errors (a broken symbol link fails), with
# swift-docc-plugin. It shares `.build` with `make build`/`make test`: after a debug build the
# symbol graphs come from the modules already built (about 3 minutes on 2 cores, where a
# scratch directory of its own needed a full build, about 10). CI runs it after the tests.
DOCC_TARGETS := $(patsubst Sources/%/,%,$(dir $(wildcard Sources/*/*.docc)))
docs: deps
	$(SWIFT) package --disable-sandbox generate-documentation \
	  $(addprefix --target ,$(DOCC_TARGETS)) --warnings-as-errors

clean:
	rm -rf .build
