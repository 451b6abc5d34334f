#pragma once

// A fresh folder under $TMPDIR for one test, removed with everything in it
// when the test ends.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace mesh::test {

class temp_dir {
public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string{base != nullptr ? base : "/tmp"}
                          + "/mesh-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

  /// path()/name
  std::string file(const std::string& name) const {
    return path_ + "/" + name;
  }

  /// Writes (or replaces) path()/name; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = file(name);
    std::ofstream out{p, std::ios::trunc};
    out << text;
    if (!out)
      throw std::runtime_error("cannot write " + p);
    return p;
  }

private:
  std::string path_;
};

} // namespace mesh::test
