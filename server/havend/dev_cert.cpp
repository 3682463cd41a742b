#include "dev_cert.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <haven/core/command_line.hpp>
#include <memory>

namespace haven::server {
namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;
using extension_ptr =
    std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

void check(bool ok, const char* what) {
  if (!ok) throw failure(errc::internal, std::string("OpenSSL failed to ") + what);
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(host.find(':') != std::string::npos ? AF_INET6 : AF_INET, host.c_str(), buf) ==
         1;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  check(ext && X509_add_ext(cert, ext.get(), -1) == 1, "add a certificate extension");
}

x509_ptr self_signed(EVP_PKEY* key, const std::vector<std::string>& hosts, int days) {
  x509_ptr cert(X509_new());
  check(cert && X509_set_version(cert.get(), X509_VERSION_3) == 1, "make a certificate");
  bignum_ptr serial(BN_new());
  check(serial && BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())),
        "make a serial number");
  // Valid from an hour ago, so that a device whose clock is a little behind accepts it.
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600),
        "set the validity");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>("havend development certificate"), -1, -1,
            0) == 1 &&
            X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key) == 1,
        "name the certificate");
  std::string alt_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  for (const auto& h : hosts) alt_names += (is_ip_address(h) ? ",IP:" : ",DNS:") + h;
  // Its own issuer: a device pins it as the one certificate authority it trusts.
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), NID_subject_alt_name, alt_names);
  check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "sign the certificate");
  return cert;
}

// Creates `file` (never overwriting one) with `mode` and writes it with `write`.
template <class Write>
void create_file(const std::filesystem::path& file, mode_t mode, Write&& write) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      throw failure(errc::already_exists,
                    file.string() + " exists; dev-cert never overwrites a file");
    throw failure(errc::store, "cannot create " + file.string() + ": " + std::strerror(errno));
  }
  FILE* out = fdopen(fd, "w");
  if (!out) {
    ::close(fd);
    throw failure(errc::store, "cannot write " + file.string() + ": " + std::strerror(errno));
  }
  const bool written = write(out);
  if (std::fclose(out) != 0 || !written) {
    std::filesystem::remove(file);
    throw failure(errc::store, "cannot write " + file.string());
  }
}

}  // namespace

boost::program_options::options_description dev_cert_options() {
  namespace po = boost::program_options;
  const dev_cert_request defaults;
  po::options_description o("Options");
  o.add_options()("cert", po::value<std::string>()->required()->value_name("FILE"),
                  "where to write the certificate (PEM)")(
      "key", po::value<std::string>()->required()->value_name("FILE"),
      "where to write its private key (PEM, mode 0600)")(
      "host", po::value<std::vector<std::string>>()->composing()->value_name("NAME"),
      "(repeatable) a host name or IP address it is also for, besides localhost, 127.0.0.1 and "
      "::1")(
      "days",
      po::value<int>()->default_value(defaults.days)->value_name("N")->notifier([](int days) {
        command_line::require_range("--days", days, 1, 3650);
      }),
      "how long it is valid, 1-3650 days");
  return o;
}

result<dev_cert_request> dev_cert_request_of(const boost::program_options::variables_map& options) {
  dev_cert_request r;
  r.cert = options["cert"].as<std::string>();
  r.key = options["key"].as<std::string>();
  if (options.count("host")) r.hosts = options["host"].as<std::vector<std::string>>();
  r.days = options["days"].as<int>();
  if (r.cert == r.key) return error{errc::invalid_input, "--cert and --key must be two files", {}};
  return r;
}

result<void> write_dev_cert(const dev_cert_request& request) {
  return capture([&] {
    for (const auto& file : {request.cert, request.key})
      if (std::filesystem::exists(file))
        throw failure(errc::already_exists,
                      file.string() + " exists; dev-cert never overwrites a file");
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(key != nullptr, "generate an ECDSA P-256 key");
    const x509_ptr cert = self_signed(key.get(), request.hosts, request.days);
    create_file(request.key, 0600, [&](FILE* out) {
      return PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    });
    try {
      create_file(request.cert, 0644,
                  [&](FILE* out) { return PEM_write_X509(out, cert.get()) == 1; });
    } catch (...) {
      std::filesystem::remove(request.key);  // both files or neither
      throw;
    }
  });
}

}  // namespace haven::server
