#include "check/kv_history.h"

#include <cmath>
#include <cstdio>

namespace dcslab {

const char* kv_kind_name(KvKind k) {
  switch (k) {
    case KvKind::Put: return "put";
    case KvKind::Read: return "read";
    case KvKind::Cas: return "cas";
  }
  return "?";
}

const char* kv_outcome_name(KvOutcome o) {
  switch (o) {
    case KvOutcome::Ok: return "ok";
    case KvOutcome::Fail: return "fail";
    case KvOutcome::Info: return "info";
  }
  return "?";
}

namespace {

// 109.2, 117, 3 (a line): one decimal at most, none when it is whole.
std::string number(double t) {
  char buf[64];
  const double r = std::round(t * 10) / 10;
  if (r == std::floor(r)) std::snprintf(buf, sizeof buf, "%.0f", r);
  else std::snprintf(buf, sizeof buf, "%.1f", r);
  return buf;
}

}  // namespace

std::string describe_value(const std::optional<std::string>& v) {
  return v ? "\"" + *v + "\"" : "no key";
}

std::string describe_op(const KvHistory& h, const KvOp& op) {
  std::string s = std::string(kv_kind_name(op.kind));
  if (op.final) s = "final " + s;
  s += " " + op.name + " (" + op.client;
  if (!op.endpoint.empty()) s += " via " + op.endpoint;
  const bool lines = h.time_unit == "line";
  const std::string unit = lines ? "" : " " + h.time_unit;
  if (op.outcome == KvOutcome::Info) s += ", from " + std::string(lines ? "line " : "") + number(op.call) + unit + ")";
  else s += ", " + std::string(lines ? "lines " : "") + number(op.call) + "-" + number(op.ret) + unit + ")";
  const std::string rev = op.revision ? " at revision " + std::to_string(op.revision) : "";
  switch (op.kind) {
    case KvKind::Put:
      s += " of " + describe_value(op.value);
      if (op.outcome == KvOutcome::Ok) s += ": acknowledged" + rev;
      else if (op.outcome == KvOutcome::Fail) s += ": failed (did not take effect)";
      else s += ": no answer (may have taken effect)";
      break;
    case KvKind::Read:
      if (op.outcome == KvOutcome::Ok) s += " saw " + describe_value(op.value) + rev;
      else if (op.outcome == KvOutcome::Fail) s += ": failed";
      else s += ": no answer";
      break;
    case KvKind::Cas: {
      const std::string cmp = op.expected_revision
                                  ? "mod revision " + std::to_string(*op.expected_revision)
                                  : describe_value(op.expected);
      s += " [" + cmp + " -> " + describe_value(op.value) + "]";
      if (op.outcome == KvOutcome::Ok)
        s += op.swapped ? " swapped" + rev : " did not swap (found other than " + cmp + ")";
      else if (op.outcome == KvOutcome::Fail) s += ": failed (did not take effect)";
      else s += ": no answer (may have swapped)";
      break;
    }
  }
  return s;
}

}  // namespace dcslab
