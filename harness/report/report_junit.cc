#include <pugixml.hpp>

#include <cstdio>
#include <sstream>

#include "report/report_files.h"

namespace dcslab {

std::string xml_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else if (c == 0x7f) {
        out += "\\x7f";
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: check its length, continuation bytes and range.
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (ok) {
      const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
           cp != 0xFFFE && cp != 0xFFFF;
    }
    if (ok) {
      out.append(text, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

namespace {

std::string seconds_attr(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string failure_text(const StepResult& step, const NodeResult& n) {
  std::ostringstream t;
  t << "node: " << n.node << " (as " << n.user << ")\n";
  t << "command:\n" << n.command << "\n\n";
  for (const auto& f : n.failures) t << f << "\n";
  t << "expected: " << step.expected << "\n";
  t << "observed exit: " << n.exit_status << "\n";
  t << "observed stdout:\n" << n.out << (n.out.empty() || n.out.back() == '\n' ? "" : "\n");
  t << "observed stderr:\n" << n.err;
  return t.str();
}

// A scenario's testcases (a testcase per step and node, then the steps not run), appended
// to `suite`; `n` counts tests, failures, errors, skipped.
void append_testcases(pugi::xml_node suite, const ScenarioResult& sc, long long n[4]) {
  long long& tests = n[0];
  long long& failures = n[1];
  long long& errors = n[2];
  long long& skipped = n[3];
  for (const auto& st : sc.steps) {
    for (const auto& nr : st.nodes) {
      ++tests;
      auto tc = suite.append_child("testcase");
      tc.append_attribute("classname") = xml_safe(sc.name).c_str();
      const std::string name = std::to_string(st.index) + ". " + st.name +
                               (st.nodes.size() > 1 ? " [" + nr.node + "]" : " (" + nr.node + ")");
      tc.append_attribute("name") = xml_safe(name).c_str();
      tc.append_attribute("time") = seconds_attr(nr.seconds).c_str();
      if (nr.skipped) {
        ++skipped;
        tc.append_child("skipped").append_attribute("message") = xml_safe(nr.skip_reason).c_str();
        continue;
      }
      if (!nr.passed) {
        // A transport error (the command could not run) is an <error>, a mismatch a
        // <failure>: CI tools show the two differently.
        const bool is_error = !nr.error.empty();
        (is_error ? errors : failures)++;
        auto f = tc.append_child(is_error ? "error" : "failure");
        std::string message = nr.failures.empty() ? nr.error : nr.failures.front();
        for (std::size_t i = 1; i < nr.failures.size(); ++i) message += "; " + nr.failures[i];
        f.append_attribute("message") = xml_safe(message).c_str();
        f.append_attribute("type") = is_error ? "error" : "expectation";
        f.text().set(xml_safe(failure_text(st, nr)).c_str());
      }
      std::string out = "$ " + nr.command + "\n" + nr.out;
      std::string err = nr.err;
      if (nr.out_dropped)
        out += std::string(out.back() == '\n' ? "" : "\n") + "[dcslab: " +
               std::to_string(nr.out_dropped) + " bytes past the output limit dropped]\n";
      if (nr.err_dropped)
        err += std::string(err.empty() || err.back() == '\n' ? "" : "\n") + "[dcslab: " +
               std::to_string(nr.err_dropped) + " bytes past the output limit dropped]\n";
      tc.append_child("system-out").text().set(xml_safe(out).c_str());
      if (!err.empty()) tc.append_child("system-err").text().set(xml_safe(err).c_str());
    }
  }
  for (const auto& name : sc.not_run) {
    ++tests;
    ++skipped;
    auto tc = suite.append_child("testcase");
    tc.append_attribute("classname") = xml_safe(sc.name).c_str();
    tc.append_attribute("name") = xml_safe(name).c_str();
    tc.append_attribute("time") = "0";
    auto s = tc.append_child("skipped");
    s.append_attribute("message") =
        xml_safe(sc.error.empty() ? "not run: an earlier step failed" : sc.error).c_str();
  }
  if (!sc.error.empty() && sc.steps.empty() && sc.not_run.empty()) {
    ++tests;
    ++errors;
    auto tc = suite.append_child("testcase");
    tc.append_attribute("classname") = xml_safe(sc.name).c_str();
    tc.append_attribute("name") = "scenario";
    tc.append_child("error").append_attribute("message") = xml_safe(sc.error).c_str();
  }
}

pugi::xml_node start_document(pugi::xml_document& doc, const std::string& name) {
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto suites = doc.append_child("testsuites");
  suites.append_attribute("name") = xml_safe(name).c_str();
  return suites;
}

void set_counts(pugi::xml_node node, const long long n[4]) {
  node.append_attribute("tests") = n[0];
  node.append_attribute("failures") = n[1];
  node.append_attribute("errors") = n[2];
  node.append_attribute("skipped") = n[3];
}

std::string saved(const pugi::xml_document& doc) {
  std::ostringstream s;
  doc.save(s, "  ", pugi::format_default, pugi::encoding_utf8);
  return s.str();
}

}  // namespace

std::string junit_xml(const RunReport& report) {
  pugi::xml_document doc;
  auto suites = start_document(doc, "dcslab " + report.lab);
  long long all[4] = {0, 0, 0, 0};  // tests, failures, errors, skipped
  for (const auto& sc : report.scenarios) {
    auto suite = suites.append_child("testsuite");
    suite.append_attribute("name") = xml_safe(sc.name).c_str();
    suite.append_attribute("timestamp") = sc.started_at.c_str();
    suite.append_attribute("time") = seconds_attr(sc.seconds).c_str();
    suite.append_attribute("file") = xml_safe(sc.file).c_str();
    if (!report.seed.empty()) {
      auto prop = suite.append_child("properties").append_child("property");
      prop.append_attribute("name") = "seed";
      prop.append_attribute("value") = (report.seed + ": replay with --seed " + report.seed).c_str();
    }
    long long n[4] = {0, 0, 0, 0};
    append_testcases(suite, sc, n);
    set_counts(suite, n);
    for (int i = 0; i < 4; ++i) all[i] += n[i];
  }
  set_counts(suites, all);
  suites.append_attribute("time") = seconds_attr(report.seconds).c_str();
  return saved(doc);
}

std::string junit_grouped_xml(const std::string& name, const std::string& classname,
                              const std::vector<JunitGroup>& groups) {
  pugi::xml_document doc;
  auto suites = start_document(doc, name);
  long long all[4] = {0, 0, 0, 0};  // tests, failures, errors, skipped
  double all_time = 0;
  for (const auto& g : groups) {
    auto suite = suites.append_child("testsuite");
    suite.append_attribute("name") = xml_safe(g.name).c_str();
    long long n[4] = {0, 0, 0, 0};
    if (!g.error.empty()) {
      auto tc = suite.append_child("testcase");
      tc.append_attribute("classname") = xml_safe(classname).c_str();
      tc.append_attribute("name") = "lab";
      tc.append_child("error").append_attribute("message") = xml_safe(g.error).c_str();
      n[0] = 1, n[2] = 1;
    } else {
      // The group's testcases gathered under it: the classname keeps the scenario.
      suite.append_attribute("timestamp") = g.report.started_at.c_str();
      for (const auto& sc : g.report.scenarios) append_testcases(suite, sc, n);
    }
    auto props = suite.prepend_child("properties");
    for (const auto& [k, v] : g.properties) {
      auto p = props.append_child("property");
      p.append_attribute("name") = xml_safe(k).c_str();
      p.append_attribute("value") = xml_safe(v).c_str();
    }
    set_counts(suite, n);
    suite.append_attribute("time") = seconds_attr(g.report.seconds).c_str();
    for (int i = 0; i < 4; ++i) all[i] += n[i];
    all_time += g.report.seconds;
  }
  set_counts(suites, all);
  suites.append_attribute("time") = seconds_attr(all_time).c_str();
  return saved(doc);
}

}  // namespace dcslab
