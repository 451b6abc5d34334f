// The main of every test binary: CAF's test runner, plus one guard. CTest
// runs each suite on its own ("-s ^name$"); a pattern that matches no suite
// would pass silently, so it is an error here.

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include <regex>

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string{argv[i]} != "-s")
      continue;
    std::regex pattern{argv[i + 1]};
    bool found = false;
    for (const auto& name : caf::test::engine::available_suites())
      found = found || std::regex_search(name, pattern);
    if (!found) {
      std::cerr << "no test suite matches '" << argv[i + 1] << "'\n";
      return 1;
    }
  }
  return caf::test::main(argc, argv);
}
