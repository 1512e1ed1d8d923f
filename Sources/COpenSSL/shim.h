#ifndef SWIFTCNI_COPENSSL_SHIM_H
#define SWIFTCNI_COPENSSL_SHIM_H
// OpenSSL 3 (Debian libssl-dev): TLS for the blocking HTTP client (HTTPTransport) that the
// Datastore's etcd client and a plugin's Kubernetes reads share: server verification against a
// CA file or PEM bytes, client certificates. Imported `internal` by HTTPTransport only.
// libssl.a/libcrypto.a exist, so the statically linked plugin binaries link it too.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

// Macros Swift cannot call.
static inline long swiftcni_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}
// A peer that closes without close_notify (etcd restarting, a watch shut down) is the end of
// the stream, as on a plain socket, not a TLS error.
static inline void swiftcni_ssl_ctx_ignore_unexpected_eof(SSL_CTX *context) {
    SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
}
// Takes ownership of `certificate` on success.
static inline long swiftcni_ssl_ctx_add0_chain_cert(SSL_CTX *context, X509 *certificate) {
    return SSL_CTX_add0_chain_cert(context, certificate);
}
static inline long swiftcni_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
#endif
