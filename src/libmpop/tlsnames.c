/* ISC license. */

#include <stdint.h>

#include <bearssl.h>

#include <mpop/conn.h>
#include "tls-internal.h"

#define S(id, name, kx, c, m) { BR_TLS_##id, name, TLS_KX_##kx, TLS_C_##c, TLS_M_##m }

tls_suite const tls_suites[TLS_NSUITES] =
{
  S(ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ECDHE_ECDSA, CHACHA20, AEAD),
  S(ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ECDHE_RSA, CHACHA20, AEAD),
  S(ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ECDHE_ECDSA, AES128GCM, AEAD),
  S(ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE_RSA_WITH_AES_128_GCM_SHA256", ECDHE_RSA, AES128GCM, AEAD),
  S(ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", ECDHE_ECDSA, AES256GCM, AEAD),
  S(ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE_RSA_WITH_AES_256_GCM_SHA384", ECDHE_RSA, AES256GCM, AEAD),
  S(ECDHE_ECDSA_WITH_AES_128_CCM, "ECDHE_ECDSA_WITH_AES_128_CCM", ECDHE_ECDSA, AES128CCM, AEAD),
  S(ECDHE_ECDSA_WITH_AES_256_CCM, "ECDHE_ECDSA_WITH_AES_256_CCM", ECDHE_ECDSA, AES256CCM, AEAD),
  S(ECDHE_ECDSA_WITH_AES_128_CCM_8, "ECDHE_ECDSA_WITH_AES_128_CCM_8", ECDHE_ECDSA, AES128CCM8, AEAD),
  S(ECDHE_ECDSA_WITH_AES_256_CCM_8, "ECDHE_ECDSA_WITH_AES_256_CCM_8", ECDHE_ECDSA, AES256CCM8, AEAD),
  S(ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", ECDHE_ECDSA, AES128CBC, SHA256),
  S(ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE_RSA_WITH_AES_128_CBC_SHA256", ECDHE_RSA, AES128CBC, SHA256),
  S(ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", ECDHE_ECDSA, AES256CBC, SHA384),
  S(ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE_RSA_WITH_AES_256_CBC_SHA384", ECDHE_RSA, AES256CBC, SHA384),
  S(ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA", ECDHE_ECDSA, AES128CBC, SHA1),
  S(ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE_RSA_WITH_AES_128_CBC_SHA", ECDHE_RSA, AES128CBC, SHA1),
  S(ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE_ECDSA_WITH_AES_256_CBC_SHA", ECDHE_ECDSA, AES256CBC, SHA1),
  S(ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE_RSA_WITH_AES_256_CBC_SHA", ECDHE_RSA, AES256CBC, SHA1),
  S(ECDH_ECDSA_WITH_AES_128_GCM_SHA256, "ECDH_ECDSA_WITH_AES_128_GCM_SHA256", ECDH_ECDSA, AES128GCM, AEAD),
  S(ECDH_RSA_WITH_AES_128_GCM_SHA256, "ECDH_RSA_WITH_AES_128_GCM_SHA256", ECDH_RSA, AES128GCM, AEAD),
  S(ECDH_ECDSA_WITH_AES_256_GCM_SHA384, "ECDH_ECDSA_WITH_AES_256_GCM_SHA384", ECDH_ECDSA, AES256GCM, AEAD),
  S(ECDH_RSA_WITH_AES_256_GCM_SHA384, "ECDH_RSA_WITH_AES_256_GCM_SHA384", ECDH_RSA, AES256GCM, AEAD),
  S(ECDH_ECDSA_WITH_AES_128_CBC_SHA256, "ECDH_ECDSA_WITH_AES_128_CBC_SHA256", ECDH_ECDSA, AES128CBC, SHA256),
  S(ECDH_RSA_WITH_AES_128_CBC_SHA256, "ECDH_RSA_WITH_AES_128_CBC_SHA256", ECDH_RSA, AES128CBC, SHA256),
  S(ECDH_ECDSA_WITH_AES_256_CBC_SHA384, "ECDH_ECDSA_WITH_AES_256_CBC_SHA384", ECDH_ECDSA, AES256CBC, SHA384),
  S(ECDH_RSA_WITH_AES_256_CBC_SHA384, "ECDH_RSA_WITH_AES_256_CBC_SHA384", ECDH_RSA, AES256CBC, SHA384),
  S(ECDH_ECDSA_WITH_AES_128_CBC_SHA, "ECDH_ECDSA_WITH_AES_128_CBC_SHA", ECDH_ECDSA, AES128CBC, SHA1),
  S(ECDH_RSA_WITH_AES_128_CBC_SHA, "ECDH_RSA_WITH_AES_128_CBC_SHA", ECDH_RSA, AES128CBC, SHA1),
  S(ECDH_ECDSA_WITH_AES_256_CBC_SHA, "ECDH_ECDSA_WITH_AES_256_CBC_SHA", ECDH_ECDSA, AES256CBC, SHA1),
  S(ECDH_RSA_WITH_AES_256_CBC_SHA, "ECDH_RSA_WITH_AES_256_CBC_SHA", ECDH_RSA, AES256CBC, SHA1),
  S(RSA_WITH_AES_128_GCM_SHA256, "RSA_WITH_AES_128_GCM_SHA256", RSA, AES128GCM, AEAD),
  S(RSA_WITH_AES_256_GCM_SHA384, "RSA_WITH_AES_256_GCM_SHA384", RSA, AES256GCM, AEAD),
  S(RSA_WITH_AES_128_CCM, "RSA_WITH_AES_128_CCM", RSA, AES128CCM, AEAD),
  S(RSA_WITH_AES_256_CCM, "RSA_WITH_AES_256_CCM", RSA, AES256CCM, AEAD),
  S(RSA_WITH_AES_128_CCM_8, "RSA_WITH_AES_128_CCM_8", RSA, AES128CCM8, AEAD),
  S(RSA_WITH_AES_256_CCM_8, "RSA_WITH_AES_256_CCM_8", RSA, AES256CCM8, AEAD),
  S(RSA_WITH_AES_128_CBC_SHA256, "RSA_WITH_AES_128_CBC_SHA256", RSA, AES128CBC, SHA256),
  S(RSA_WITH_AES_256_CBC_SHA256, "RSA_WITH_AES_256_CBC_SHA256", RSA, AES256CBC, SHA256),
  S(RSA_WITH_AES_128_CBC_SHA, "RSA_WITH_AES_128_CBC_SHA", RSA, AES128CBC, SHA1),
  S(RSA_WITH_AES_256_CBC_SHA, "RSA_WITH_AES_256_CBC_SHA", RSA, AES256CBC, SHA1),
  S(ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA, "ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", ECDHE_ECDSA, 3DES, SHA1),
  S(ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", ECDHE_RSA, 3DES, SHA1),
  S(ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA, "ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", ECDH_ECDSA, 3DES, SHA1),
  S(ECDH_RSA_WITH_3DES_EDE_CBC_SHA, "ECDH_RSA_WITH_3DES_EDE_CBC_SHA", ECDH_RSA, 3DES, SHA1),
  S(RSA_WITH_3DES_EDE_CBC_SHA, "RSA_WITH_3DES_EDE_CBC_SHA", RSA, 3DES, SHA1),
} ;

char const *conn_tls_suite_name (uint16_t id)
{
  for (unsigned int i = 0 ; i < TLS_NSUITES ; i++)
    if (tls_suites[i].id == id) return tls_suites[i].name ;
  return "unknown cipher suite" ;
}

char const *conn_tls_version_name (uint16_t v)
{
  switch (v)
  {
    case BR_TLS10 : return "TLS1.0" ;
    case BR_TLS11 : return "TLS1.1" ;
    case BR_TLS12 : return "TLS1.2" ;
    default : return "unknown protocol version" ;
  }
}

static struct { unsigned char n ; char const *s ; } const alerts[] =
{
  { 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
  { 22, "record_overflow" }, { 30, "decompression_failure" }, { 40, "handshake_failure" },
  { 42, "bad_certificate" }, { 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
  { 45, "certificate_expired" }, { 46, "certificate_unknown" }, { 47, "illegal_parameter" },
  { 48, "unknown_ca" }, { 49, "access_denied" }, { 50, "decode_error" }, { 51, "decrypt_error" },
  { 70, "protocol_version" }, { 71, "insufficient_security" }, { 80, "internal_error" },
  { 86, "inappropriate_fallback" }, { 90, "user_canceled" }, { 100, "no_renegotiation" },
  { 109, "missing_extension" }, { 110, "unsupported_extension" }, { 112, "unrecognized_name" },
  { 116, "certificate_required" }, { 120, "no_application_protocol" }
} ;

char const *tls_alert_name (unsigned int n)
{
  for (unsigned int i = 0 ; i < sizeof(alerts) / sizeof(alerts[0]) ; i++)
    if (alerts[i].n == n) return alerts[i].s ;
  return "unknown alert" ;
}

static struct { int e ; char const *s ; } const errors[] =
{
  { BR_ERR_BAD_PARAM, "caller-provided parameter is incorrect" },
  { BR_ERR_BAD_STATE, "operation requested in the wrong state" },
  { BR_ERR_UNSUPPORTED_VERSION, "the server chose an unsupported protocol version" },
  { BR_ERR_BAD_VERSION, "the server's protocol version changed" },
  { BR_ERR_BAD_LENGTH, "record length is wrong" },
  { BR_ERR_TOO_LARGE, "record too large" },
  { BR_ERR_BAD_MAC, "record authentication failed (bad MAC)" },
  { BR_ERR_NO_RANDOM, "no random source" },
  { BR_ERR_UNKNOWN_TYPE, "unknown record type (is this really a TLS server?)" },
  { BR_ERR_UNEXPECTED, "unexpected message from the server" },
  { BR_ERR_BAD_CCS, "invalid ChangeCipherSpec message" },
  { BR_ERR_BAD_ALERT, "invalid alert message" },
  { BR_ERR_BAD_HANDSHAKE, "invalid handshake message" },
  { BR_ERR_OVERSIZED_ID, "session ID too long" },
  { BR_ERR_BAD_CIPHER_SUITE, "the server chose a cipher suite that was not offered" },
  { BR_ERR_BAD_COMPRESSION, "the server chose an unsupported compression method" },
  { BR_ERR_BAD_FRAGLEN, "invalid maximum fragment length" },
  { BR_ERR_BAD_SECRENEG, "secure renegotiation failed" },
  { BR_ERR_EXTRA_EXTENSION, "the server sent an extension that was not requested" },
  { BR_ERR_BAD_SNI, "invalid server name indication" },
  { BR_ERR_BAD_HELLO_DONE, "invalid ServerHelloDone message" },
  { BR_ERR_LIMIT_EXCEEDED, "internal limit exceeded" },
  { BR_ERR_BAD_FINISHED, "invalid Finished message" },
  { BR_ERR_RESUME_MISMATCH, "session resumption mismatch" },
  { BR_ERR_INVALID_ALGORITHM, "unsupported or invalid algorithm" },
  { BR_ERR_BAD_SIGNATURE, "invalid signature from the server" },
  { BR_ERR_WRONG_KEY_USAGE, "the server's key usage forbids this cipher suite" },
  { BR_ERR_NO_CLIENT_AUTH, "the server requested a client certificate, but none is configured" },
  { BR_ERR_IO, "input/output error" },
  { BR_ERR_X509_INVALID_VALUE, "invalid value in an ASN.1 structure of the certificate" },
  { BR_ERR_X509_TRUNCATED, "truncated certificate" },
  { BR_ERR_X509_EMPTY_CHAIN, "the server sent no certificate" },
  { BR_ERR_X509_INNER_TRUNC, "inconsistent lengths in the certificate" },
  { BR_ERR_X509_BAD_TAG_CLASS, "unsupported tag class in the certificate" },
  { BR_ERR_X509_BAD_TAG_VALUE, "unsupported tag value in the certificate" },
  { BR_ERR_X509_INDEFINITE_LENGTH, "indefinite length in the certificate" },
  { BR_ERR_X509_EXTRA_ELEMENT, "extra element in the certificate" },
  { BR_ERR_X509_UNEXPECTED, "unexpected element in the certificate" },
  { BR_ERR_X509_NOT_CONSTRUCTED, "malformed certificate (not constructed)" },
  { BR_ERR_X509_NOT_PRIMITIVE, "malformed certificate (not primitive)" },
  { BR_ERR_X509_PARTIAL_BYTE, "malformed certificate (partial byte)" },
  { BR_ERR_X509_BAD_BOOLEAN, "malformed certificate (bad boolean)" },
  { BR_ERR_X509_OVERFLOW, "malformed certificate (overflow)" },
  { BR_ERR_X509_BAD_DN, "malformed distinguished name in the certificate" },
  { BR_ERR_X509_BAD_TIME, "malformed time in the certificate" },
  { BR_ERR_X509_UNSUPPORTED, "the certificate uses an unsupported feature" },
  { BR_ERR_X509_LIMIT_EXCEEDED, "the certificate exceeds an internal limit" },
  { BR_ERR_X509_WRONG_KEY_TYPE, "key type mismatch in the certificate chain" },
  { BR_ERR_X509_BAD_SIGNATURE, "a signature in the certificate chain is invalid" },
  { BR_ERR_X509_TIME_UNKNOWN, "the current time is unknown" },
  { BR_ERR_X509_EXPIRED, "a certificate in the chain has expired or is not yet valid" },
  { BR_ERR_X509_DN_MISMATCH, "issuer and subject names do not chain" },
  { BR_ERR_X509_BAD_SERVER_NAME, "the name in the certificate does not match" },
  { BR_ERR_X509_CRITICAL_EXTENSION, "the certificate has an unsupported critical extension" },
  { BR_ERR_X509_NOT_CA, "a certificate in the chain is not a CA certificate" },
  { BR_ERR_X509_FORBIDDEN_KEY_USAGE, "the certificate's key usage forbids its use" },
  { BR_ERR_X509_WEAK_PUBLIC_KEY, "the certificate's public key is too weak" },
  { BR_ERR_X509_NOT_TRUSTED, "the certificate is not trusted" },
} ;

char const *tls_error_text (int e)
{
  for (unsigned int i = 0 ; i < sizeof(errors) / sizeof(errors[0]) ; i++)
    if (errors[i].e == e) return errors[i].s ;
  return "unknown BearSSL error" ;
}
