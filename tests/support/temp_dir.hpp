#pragma once

#include <string>

namespace test {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
/// destruction unless EXC_KEEP_TEST_DIRS is set (for post-mortems).
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  /// path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Reads a whole file; throws std::runtime_error if it cannot.
std::string read_file(const std::string& path);

/// Writes a whole file; throws std::runtime_error if it cannot.
void write_file(const std::string& path, const std::string& content);

} // namespace test
