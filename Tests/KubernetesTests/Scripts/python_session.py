"""A scripted session of the PyPI `kubernetes` client against swift-cni's fixture API server.

Usage: python_session.py KUBECONFIG COMPACTED_RESOURCE_VERSION
Prints one line per step and "SESSION OK" at the end; exits non-zero at the first failure.
"""
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def step(text):
    print("step:", text, flush=True)


def expect_api_error(status, call):
    try:
        call()
    except ApiException as error:
        if error.status != status:
            raise AssertionError(f"expected HTTP {status}, got {error.status}: {error.body}")
        return error
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


def main():
    kubeconfig, compacted = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    networking = client.NetworkingV1Api()

    step("create")
    # Plain dict bodies: the client's model classes change between its generations.
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "py"}})
    core.create_node({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": "py-node", "labels": {"role": "worker"}},
                      "spec": {"podCIDR": "10.244.7.0/24", "podCIDRs": ["10.244.7.0/24"]}})
    core.create_namespaced_pod("py", {"apiVersion": "v1", "kind": "Pod",
                                      "metadata": {"name": "api", "labels": {"app": "api"}},
                                      "spec": {"nodeName": "py-node", "containers": [{"name": "c", "image": "busybox"}]}})
    networking.create_namespaced_network_policy("py", {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                                       "metadata": {"name": "deny"},
                                                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    expect_api_error(409, lambda: core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "py"}}))

    step("get and list")
    node = core.read_node("py-node")
    assert node.spec.pod_cidr == "10.244.7.0/24", node.spec
    pods = core.list_namespaced_pod("py", label_selector="app=api", field_selector="spec.nodeName=py-node")
    assert [p.metadata.name for p in pods.items] == ["api"], pods.items
    assert len(networking.list_network_policy_for_all_namespaces().items) == 1
    expect_api_error(404, lambda: core.read_namespaced_pod("absent", "py"))

    step("patch status")
    core.patch_node_status("py-node", {"status": {"conditions": [
        {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated", "message": "python"}]}})
    node = core.read_node("py-node")
    assert [(c.type, c.status) for c in node.status.conditions] == [("NetworkUnavailable", "False")], node.status

    step("label")
    core.patch_namespaced_pod("api", "py", {"metadata": {"labels": {"tier": "back"}}})
    pod = core.read_namespaced_pod("api", "py")
    assert pod.metadata.labels == {"app": "api", "tier": "back"}, pod.metadata.labels

    step("conflict on a stale update")
    stale = core.read_namespaced_pod("api", "py")
    core.patch_namespaced_pod("api", "py", {"metadata": {"annotations": {"moved": "on"}}})
    stale.metadata.labels["x"] = "y"
    expect_api_error(409, lambda: core.replace_namespaced_pod("api", "py", stale))

    step("watch with bookmarks")
    version = core.list_namespaced_pod("py").metadata.resource_version

    def change():
        time.sleep(0.5)
        core.patch_namespaced_pod("api", "py", {"metadata": {"labels": {"watched": "yes"}}})

    changer = threading.Thread(target=change)
    changer.start()
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_pod, "py", resource_version=version,
                                      allow_watch_bookmarks=True, timeout_seconds=2):
        seen.append(event["type"])
    changer.join()
    assert "MODIFIED" in seen and "BOOKMARK" in seen, seen

    step("410 after compaction")
    error = expect_api_error(410, lambda: list(watch.Watch().stream(
        core.list_namespace, resource_version=compacted, timeout_seconds=2)))
    print("410:", error.reason, flush=True)

    step("422 on changing a podCIDR")
    error = expect_api_error(422, lambda: core.patch_node("py-node", {"spec": {
        "podCIDR": "10.244.8.0/24", "podCIDRs": ["10.244.8.0/24"]}}))
    assert "spec.podCIDRs" in error.body, error.body

    step("delete")
    core.delete_namespaced_pod("api", "py")
    expect_api_error(404, lambda: core.read_namespaced_pod("api", "py"))
    print("SESSION OK", flush=True)


if __name__ == "__main__":
    main()
