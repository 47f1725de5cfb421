#include "test_ca.hpp"

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace test {

test_ca test_ca::create(const std::string& dir, const std::string& name,
                        const std::string& subject_alt_names) {
  auto path = [&](const std::string& file) { return dir + "/" + name + "-" + file; };
  auto log = path("openssl.log");
  test_ca ca{path("ca.pem"), path("server.pem"), path("server.key")};
  // EC keys: fast to generate, and what a modern server would use.
  run_command({"openssl",
               "req",
               "-x509",
               "-newkey",
               "ec",
               "-pkeyopt",
               "ec_paramgen_curve:prime256v1",
               "-nodes",
               "-keyout",
               path("ca.key"),
               "-out",
               ca.ca_file,
               "-days",
               "2",
               "-subj",
               "/CN=exconnect test CA " + name,
               "-addext",
               "basicConstraints=critical,CA:TRUE",
               "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"},
              log);
  run_command({"openssl", "req", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca.server_key, "-out",
               path("server.csr"), "-subj", "/CN=localhost"},
              log);
  write_file(path("server.ext"), "subjectAltName=" + subject_alt_names +
                                     "\n"
                                     "basicConstraints=CA:FALSE\n"
                                     "keyUsage=critical,digitalSignature\n"
                                     "extendedKeyUsage=serverAuth\n");
  run_command({"openssl", "x509", "-req", "-in", path("server.csr"), "-CA", ca.ca_file,
               "-CAkey", path("ca.key"), "-CAcreateserial", "-out", ca.server_cert,
               "-days", "2", "-extfile", path("server.ext")},
              log);
  return ca;
}

} // namespace test
