// Replays a fuzz target's corpus without libFuzzer: every file in the
// folders given on the command line goes through LLVMFuzzerTestOneInput.
// The normal test run does this (fast), so an input that once crashed a
// target fails CI if the crash comes back.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator{argv[i], ec})
      if (entry.is_regular_file())
        files.push_back(entry.path());
    if (ec) {
      std::fprintf(stderr, "cannot read corpus %s\n", argv[i]);
      return 2;
    }
    for (const auto& f : files) {
      std::ifstream in{f, std::ios::binary};
      std::string bytes{std::istreambuf_iterator<char>{in}, {}};
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
      ++replayed;
    }
  }
  std::printf("replayed %zu inputs\n", replayed);
  return replayed > 0 ? 0 : 1;
}
