// The snippet at the top of Sources/Routing/Routing.docc/Routing.md, compiled (not run: it
// uses fixed namespace names) so the documentation cannot rot. Keep the two in sync.
import CNISpec
import Namespaces
import NetPrimitives
import Netlink
import Routing

func routingLandingPageSnippet() throws {

    // Run as root. Everything happens inside namespaces created here.
    let node = try NetworkNamespace.create(name: "demo-node")          // ip netns add demo-node
    let pod = try NetworkNamespace.create(name: "demo-pod")            // ip netns add demo-pod
    defer {
        try? NetworkNamespace.delete(name: "demo-pod")
        try? NetworkNamespace.delete(name: "demo-node")
    }
    let nodeHandle = try NetlinkHandle(namespace: node)
    let podHandle = try NetlinkHandle(namespace: pod)

    // ip link add cni0 type bridge; ip link set cni0 up; ip addr add 10.244.1.1/24 dev cni0
    let gateway = try IPNetwork(parsing: "10.244.1.1/24")
    try BridgeAttachment.ensure(BridgeConfiguration(name: "cni0", mtu: 1450, gatewayAddresses: [gateway]), host: nodeHandle)

    // ip link add veth… mtu 1450 master cni0 up type veth peer name eth0 netns demo-pod
    let attachment = PodAttachment(containerID: "pod-1", interfaceName: "eth0", podNamespace: pod,
                                   mtu: 1450, bridge: "cni0", hairpin: true)
    let links = try attachment.create(host: nodeHandle, pod: podHandle)

    // ip -n demo-pod addr add 10.244.1.2/24 dev eth0
    // ip -n demo-pod route add 10.244.0.0/16 via 10.244.1.1 dev eth0
    let result = CNIResult(
        interfaces: [.init(name: links.host.name, mac: links.host.macAddress),
                     .init(name: "eth0", mac: links.container.macAddress, sandbox: pod.path)],
        ips: [.init(address: try IPNetwork(parsing: "10.244.1.2/24"), gateway: gateway.address, interface: 1)],
        routes: [CNIRoute(destination: try IPNetwork(parsing: "10.244.0.0/16"))])
    try PodAddressing.apply(result, interface: "eth0", pod: podHandle)

    // CHECK: the pod still looks like the result says.
    try CheckValidation.validatePod(result, interface: "eth0", pod: podHandle)
    try CheckValidation.validateHost(hostInterface: attachment.hostInterface, bridge: "cni0", host: nodeHandle)

    // DEL: deleting the host end removes both ends, even when the pod namespace is gone.
    try attachment.remove(host: nodeHandle)                            // ip link delete veth…
}
