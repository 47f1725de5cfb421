#include "net/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace net {

namespace {

/// Label values escape backslash, double quote and line feed.
void append_escaped(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

} // namespace

std::string metrics::label_text(const labels& l) {
  if (l.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : l) {
    if (out.size() > 1) out += ',';
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out += '"';
  }
  out += '}';
  return out;
}

void metrics::describe(const std::string& name, const std::string& type,
                       const std::string& help) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void metrics::add(const std::string& name, const labels& l, double delta) {
  auto key = label_text(l);
  std::lock_guard<std::mutex> lock{mutex_};
  families_[name].samples[key] += delta;
}

void metrics::set(const std::string& name, const labels& l, double value) {
  auto key = label_text(l);
  std::lock_guard<std::mutex> lock{mutex_};
  families_[name].samples[key] = value;
}

double metrics::value(const std::string& name, const labels& l) const {
  auto key = label_text(l);
  std::lock_guard<std::mutex> lock{mutex_};
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.samples.find(key);
  return s == f->second.samples.end() ? 0 : s->second;
}

std::string metrics::render() const {
  std::lock_guard<std::mutex> lock{mutex_};
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [label_set, value] : f.samples)
      out += name + label_set + " " + number(value) + "\n";
  }
  return out;
}

std::string method_label(const std::string& method) {
  static const char* const known[] = {"GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                      "DELETE", "OPTIONS", "TRACE", "CONNECT"};
  for (const char* m : known)
    if (method == m) return method;
  return "other";
}

} // namespace net
