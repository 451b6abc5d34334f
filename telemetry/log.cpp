#include "telemetry/log.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <streambuf>

#include <nlohmann/json.hpp>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace mesh::log {

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

struct registry {
  std::mutex mtx;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::mutex node_mtx;
  std::string node; ///< for the JSON format
};

registry& state() {
  static registry instance;
  return instance;
}

// The text format, one line per record: control characters in a message
// (a newline in a trace id, an address or a name from outside) are written
// as \n, \r, \t or \xNN, so nobody can forge a log line.
class text_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string_view text{msg.payload.data(), msg.payload.size()};
    auto is_control = [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    };
    if (std::none_of(text.begin(), text.end(), is_control))
      return inner_.format(msg, dest);
    std::string clean;
    clean.reserve(text.size() + 16);
    for (char c : text) {
      if (!is_control(c)) {
        clean += c;
        continue;
      }
      static constexpr char hex[] = "0123456789abcdef";
      auto u = static_cast<unsigned char>(c);
      clean += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : "";
      if (c != '\n' && c != '\r' && c != '\t')
        clean.append({'\\', 'x', hex[u >> 4], hex[u & 0xF]});
    }
    auto copy = msg;
    copy.payload = spdlog::string_view_t{clean.data(), clean.size()};
    inner_.format(copy, dest);
    // The level's colour, where the sink looks for it (fields it may set).
    msg.color_range_start = copy.color_range_start;
    msg.color_range_end = copy.color_range_end;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }

private:
  spdlog::pattern_formatter inner_{text_pattern};
};

spdlog::sink_ptr shared_sink(registry& st) {
  if (!st.sink) {
    // Logs go to stderr: stdout carries the node's one ready line.
    st.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    st.sink->set_formatter(std::make_unique<text_formatter>());
  }
  return st.sink;
}

// Our own level names (those of the config), not spdlog's ("warning").
const char* level_name(spdlog::level::level_enum lvl) {
  switch (lvl) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// One JSON object a line, built with nlohmann::json so that every string is
// escaped (a message may hold quotes, newlines or bytes that are not UTF-8).
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = duration_cast<seconds>(since_epoch);
    auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
    std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char stamp[40];
    auto n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof(stamp) - n, ".%03dZ",
                  static_cast<int>(millis));
    std::string node;
    {
      auto& st = state();
      std::lock_guard<std::mutex> guard{st.node_mtx};
      node = st.node;
    }
    // In this order, for people reading the lines too.
    nlohmann::ordered_json line{
        {"time", stamp},
        {"level", level_name(msg.level)},
        {"logger", std::string{msg.logger_name.data(), msg.logger_name.size()}},
        {"node", std::move(node)},
        {"msg", std::string{msg.payload.data(), msg.payload.size()}}};
    // Replace, not throw, on bytes that are not UTF-8: a log line must not
    // take the node down.
    auto text = line.dump(-1, ' ', false,
                          nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

// std::cout's buffer once capture_stdout() ran: each complete line becomes
// a warn line of the "caf" logger.
class log_streambuf final : public std::streambuf {
public:
  log_streambuf() : log_(get("caf")) {}

protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) {
      char c = traits_type::to_char_type(ch);
      xsputn(&c, 1);
    }
    return traits_type::not_eof(ch);
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> guard{mtx_};
    for (std::streamsize i = 0; i < n; ++i) {
      if (s[i] == '\n')
        emit();
      else
        line_ += s[i];
    }
    return n;
  }

private:
  void emit() {
    if (line_.empty())
      return;
    if (lines_++ % 1000 < 5)
      log_->warn("{} ({} line(s) from the actor runtime so far)", line_,
                 lines_);
    line_.clear();
  }

  std::shared_ptr<spdlog::logger> log_;
  std::mutex mtx_;
  std::string line_;
  uint64_t lines_ = 0;
};

} // namespace

bool is_level_name(const std::string& level) {
  return level == "off" || spdlog::level::from_str(level) != spdlog::level::off;
}

bool is_format_name(const std::string& format) {
  return format == "text" || format == "json";
}

bool init(const std::string& level, const std::string& format) {
  if (!is_level_name(level) || !is_format_name(format))
    return false;
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.level = spdlog::level::from_str(level);
  auto sink = shared_sink(st);
  // The one sink every logger shares: changing its formatter changes them
  // all, those created before this call included.
  if (format == "json")
    sink->set_formatter(std::make_unique<json_formatter>());
  else
    sink->set_formatter(std::make_unique<text_formatter>());
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& lg) {
    lg->set_level(st.level);
  });
  return true;
}

void set_node(const std::string& id) {
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.node_mtx};
  st.node = id;
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

void capture_stdout() {
  // Never destroyed: std::cout may be flushed at exit, after every static
  // object of ours is gone.
  static auto* buf = new log_streambuf;
  std::cout.flush();
  std::cout.rdbuf(buf);
}

void write_stdout(const std::string& line) {
  // C stdio writes to file descriptor 1 whatever std::cout's buffer is.
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

} // namespace mesh::log
