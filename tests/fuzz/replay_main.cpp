// Replays inputs through a fuzz target without libFuzzer, so that the normal (g++)
// builds run every seed and regression fixture as a ctest entry. Arguments: files, or
// folders whose files (not starting with '.') are replayed in name order; a folder that
// does not exist yet (no regression so far) is skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    fs::path arg{argv[i]};
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator{arg})
        if (entry.is_regular_file() && entry.path().filename().string().front() != '.')
          files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else if (!fs::exists(arg)) {
      std::cout << "skipped (does not exist): " << arg.string() << "\n";
    }
  }
  for (const auto& path : inputs) {
    std::ifstream in{path, std::ios::binary};
    std::string bytes{std::istreambuf_iterator<char>{in},
                      std::istreambuf_iterator<char>{}};
    if (!in.good() && !in.eof()) {
      std::cerr << "cannot read " << path.string() << "\n";
      return 1;
    }
    // Named before it runs: a crash shows which input caused it.
    std::cout << "replaying " << path.string() << std::endl;
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                           bytes.size());
  }
  std::cout << inputs.size() << " inputs replayed\n";
  return inputs.empty() ? 1 : 0;
}
