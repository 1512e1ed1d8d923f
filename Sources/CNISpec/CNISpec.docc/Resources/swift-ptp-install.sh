# An installable plugin: one fully static executable, no Swift runtime needed on the node.
swift build -c release --static-swift-stdlib -Xswiftc -static-executable --product swift-ptp
bin=$(swift build -c release --static-swift-stdlib -Xswiftc -static-executable --show-bin-path)
install -m 0755 "$bin/swift-ptp" /opt/cni/bin/swift-ptp

# By hand: VERSION needs no namespace.
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION /opt/cni/bin/swift-ptp

# podman with its CNI backend (podman 4.x: network_backend = "cni" in containers.conf).
cp 10-swift-ptp.conflist /etc/cni/net.d/
podman run --rm --network ptpnet busybox ip -4 addr show eth0   # 10.88.0.2/16
podman run --rm --network ptpnet busybox ip route               # default via 10.88.0.1 dev eth0
