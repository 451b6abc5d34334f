#include "telemetry/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace mesh::log {

namespace {

struct registry {
  std::mutex mtx;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
};

registry& state() {
  static registry instance;
  return instance;
}

spdlog::sink_ptr shared_sink(registry& st) {
  if (!st.sink) {
    // Logs go to stderr: stdout carries the node's one ready line.
    st.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    st.sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  return st.sink;
}

} // namespace

bool is_level_name(const std::string& level) {
  return level == "off"
         || spdlog::level::from_str(level) != spdlog::level::off;
}

bool init(const std::string& level) {
  if (!is_level_name(level))
    return false;
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.level = spdlog::level::from_str(level);
  shared_sink(st);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& lg) {
    lg->set_level(st.level);
  });
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  if (auto existing = spdlog::get(component))
    return existing;
  auto lg = std::make_shared<spdlog::logger>(component, shared_sink(st));
  lg->set_level(st.level);
  spdlog::register_logger(lg);
  return lg;
}

} // namespace mesh::log
