# Sourced by run-kube-apiserver*.sh: the flags the golden kube-apiserver ran with (see ../README.md).
# exec_kube_apiserver EXTRA...: from /work/golden-build, replaces the shell with
# `nice -n 19 ./kube-apiserver <the shared flags> EXTRA...`.
exec_kube_apiserver() {
  exec nice -n 19 ./kube-apiserver \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=127.0.0.1 --secure-port=6443 --advertise-address=192.0.2.1 \
    --insecure-port=0 \
    --tls-cert-file=pki/server.crt --tls-private-key-file=pki/server.key \
    --client-ca-file=pki/ca.crt \
    --token-auth-file=pki/tokens.csv \
    --authorization-mode=AlwaysAllow \
    --service-account-key-file=pki/sa.pub --service-account-signing-key-file=pki/sa.key \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/24 \
    --disable-admission-plugins=ServiceAccount \
    --etcd-compaction-interval=0 \
    "$@"
}
