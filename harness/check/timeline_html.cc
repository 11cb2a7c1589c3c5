#include "check/timeline_html.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace dcslab {
namespace {

// Inside <script>, "</script" would end the element and "<!--" change how it is read;
// '<' only occurs inside JSON strings, where \u003c means the same.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string html_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The page: styles, an empty figure, the data, and the script that draws it. The
// script only reads the data element and writes SVG into the figure.
constexpr const char* kHead = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>)";

constexpr const char* kStyle = R"(</title>
<style>
body { font: 13px/1.4 sans-serif; margin: 1em; color: #222; }
h1 { font-size: 16px; margin: 0 0 .3em; }
#verdict { margin: 0 0 .8em; white-space: pre-wrap; }
#verdict.bad { color: #a00; font-weight: bold; }
#figure { overflow-x: auto; border: 1px solid #ccc; }
svg text { font: 11px sans-serif; }
.lane-label { fill: #333; }
.lane-bg { fill: #f7f7f7; }
.op.ok { fill: #4a9a4a; }
.op.fail { fill: #c44; }
.op.info { fill: #e0a030; fill-opacity: .35; }
.op.read.ok { fill: #3a70b8; }
.op.prefix { stroke: #000; stroke-width: 1.5; }
.op.last { stroke: #d00; stroke-width: 3; }
.op.hit { stroke: #b0b; stroke-width: 2; stroke-dasharray: 3 2; }
.fault { fill: #888; fill-opacity: .18; }
.fault-label { fill: #555; }
.axis { stroke: #999; }
#legend span { display: inline-block; margin-right: 1.2em; }
#legend i { display: inline-block; width: 1.6em; height: .8em; margin-right: .3em; vertical-align: middle; }
#findings li { margin: .3em 0; }
#findings a { color: #a00; cursor: pointer; }
pre { white-space: pre-wrap; background: #f4f4f4; padding: .5em; }
</style>
</head>
<body>
<h1 id="title"></h1>
<p id="verdict"></p>
<p id="legend"><span><i style="background:#4a9a4a"></i>write ok</span><span><i style="background:#3a70b8"></i>read ok</span><span><i style="background:#c44"></i>failed</span><span><i style="background:#e0a030;opacity:.5"></i>no answer (may take effect any time after its call)</span><span><i style="background:#888;opacity:.3"></i>fault</span><span><i style="border:2px solid #000"></i>failing prefix</span><span><i style="border:3px solid #d00"></i>where it fails</span><span><i style="border:2px dashed #b0b"></i>named by a finding</span></p>
<div id="figure"></div>
<h2 style="font-size:14px">Findings</h2>
<ol id="findings"></ol>
<pre id="report"></pre>
<script type="application/json" id="data">)";

constexpr const char* kScript = R"(</script>
<script>
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  document.getElementById("title").textContent = d.title;
  var verdict = document.getElementById("verdict");
  verdict.textContent = d.summary;
  if (d.bad) verdict.className = "bad";
  document.getElementById("report").textContent = d.report;

  var t0 = d.start, t1 = Math.max(d.end, d.start + 1);
  var left = 170, laneH = 22, top = 34;
  var width = Math.max(900, Math.min(20000, d.ops.length * 6));
  var height = top + d.lanes.length * laneH + 10;
  function x(t) { return left + (t - t0) / (t1 - t0) * width; }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  var svg = el("svg", { width: left + width + 60, height: height, id: "timeline" });
  d.lanes.forEach(function (name, i) {
    var g = el("g", { "class": "lane", "data-lane": name }, svg);
    el("rect", { "class": "lane-bg", x: left, y: top + i * laneH + 2, width: width, height: laneH - 4 }, g);
    var t = el("text", { "class": "lane-label", x: 4, y: top + i * laneH + 15 }, g);
    t.textContent = name;
  });
  el("line", { "class": "axis", x1: left, y1: top - 4, x2: left + width, y2: top - 4 }, svg);
  for (var k = 0; k <= 10; ++k) {
    var tt = t0 + (t1 - t0) * k / 10;
    var tx = el("text", { x: x(tt) - 10, y: top - 8 }, svg);
    tx.textContent = (d.unit === "ms" ? (tt / 1000).toFixed(1) + " s" : Math.round(tt) + " " + d.unit);
  }
  d.faults.forEach(function (f) {
    var r = el("rect", { "class": "fault", x: x(f.from), y: top, width: Math.max(2, x(f.to) - x(f.from)), height: d.lanes.length * laneH }, svg);
    el("title", {}, r).textContent = f.label;
    var l = el("text", { "class": "fault-label", x: x(f.from) + 2, y: height - 1 }, svg);
    l.textContent = f.label;
  });
  var rects = [];
  var drawn = 0;
  d.ops.forEach(function (o, i) {
    var end = o.outcome === "info" ? t1 : o.ret;
    var cls = "op " + o.outcome + " " + o.kind + (o.prefix ? " prefix" : "") + (o.last ? " last" : "");
    var r = el("rect", { "class": cls, id: "op-" + i, x: x(o.call), y: top + o.lane * laneH + 5,
                         width: Math.max(2, x(end) - x(o.call)), height: laneH - 10 }, svg);
    el("title", {}, r).textContent = o.text;
    rects.push(r);
    ++drawn;
  });
  document.getElementById("figure").appendChild(svg);

  var list = document.getElementById("findings");
  d.findings.forEach(function (f) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.textContent = f.kind;
    a.href = f.ops.length ? "#op-" + f.ops[0] : "#";
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      rects.forEach(function (r) { r.classList.remove("hit"); });
      f.ops.forEach(function (i) { if (rects[i]) rects[i].classList.add("hit"); });
      if (f.ops.length && rects[f.ops[0]]) rects[f.ops[0]].scrollIntoView({ inline: "center", block: "nearest" });
    });
    li.appendChild(a);
    li.appendChild(document.createTextNode(": " + f.message));
    li.className = "finding";
    list.appendChild(li);
    f.ops.forEach(function (i) { if (rects[i]) rects[i].classList.add("hit"); });
  });
  if (!d.findings.length) list.appendChild(document.createTextNode("none"));
  document.body.setAttribute("data-lanes", String(svg.querySelectorAll("g.lane").length));
  document.body.setAttribute("data-ops", String(drawn));
  document.body.setAttribute("data-faults", String(svg.querySelectorAll("rect.fault").length));
  document.body.setAttribute("data-findings", String(list.querySelectorAll("li.finding").length));
  document.body.setAttribute("data-drawn", "yes");
})();
</script>
</body>
</html>
)";

// Digit runs compare as numbers, the rest as bytes.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string x = a.substr(i, ie - i), y = b.substr(j, je - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// A violation in one line: its "Why:" sentence when the explanation has one.
std::string violation_line(const Violation& v) {
  const auto why = v.explanation.find("Why: ");
  if (why != std::string::npos) return v.explanation.substr(why + 5, v.explanation.find('\n', why) - why - 5);
  return v.explanation.substr(0, v.explanation.find('\n'));
}

}  // namespace

std::vector<std::string> timeline_lanes(const KvHistory& h, std::vector<std::size_t>* lane_of) {
  std::map<std::string, std::set<std::string>> members;  // client -> endpoints it used
  for (const auto& op : h.ops) members[op.client].insert(op.endpoint);
  std::vector<std::string> lanes;
  std::map<std::string, std::size_t> index;
  lane_of->assign(h.ops.size(), 0);
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const KvOp& op = h.ops[i];
    std::string name = op.client.empty() ? "client" : op.client;
    if (members[op.client].size() > 1 && !op.endpoint.empty()) name += " via " + op.endpoint;
    auto [it, fresh] = index.emplace(name, lanes.size());
    if (fresh) lanes.push_back(name);
    (*lane_of)[i] = it->second;
  }
  // Lanes in name order, numbers by value ("process 9" before "process 10").
  std::vector<std::size_t> order(lanes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return natural_less(lanes[a], lanes[b]); });
  std::vector<std::size_t> rank(lanes.size());
  std::vector<std::string> sorted;
  for (std::size_t r = 0; r < order.size(); ++r) {
    rank[order[r]] = r;
    sorted.push_back(lanes[order[r]]);
  }
  for (auto& l : *lane_of) l = rank[l];
  return sorted;
}

std::string timeline_html(const KvHistory& h, const TimelineInput& in) {
  using nlohmann::json;
  std::vector<std::size_t> lane_of;
  const std::vector<std::string> lanes = timeline_lanes(h, &lane_of);

  double start = 0, end = 0;
  bool any = false;
  auto widen = [&](double t) {
    start = any ? std::min(start, t) : t;
    end = any ? std::max(end, t) : t;
    any = true;
  };
  for (const auto& op : h.ops) {
    widen(op.call);
    if (op.outcome != KvOutcome::Info) widen(op.ret);
  }
  for (const auto& f : in.faults) {
    widen(f.from);
    widen(f.to);
  }

  std::set<std::size_t> prefix, last;
  json findings = json::array();
  for (const auto& f : in.findings) {
    json ops = json::array();
    for (std::size_t i : f.ops)
      if (i < h.ops.size()) ops.push_back(i);
    findings.push_back({{"kind", f.kind}, {"message", f.message}, {"ops", ops}});
  }
  std::string summary = in.model ? in.model->summary() : std::to_string(h.ops.size()) + " operations";
  bool bad = !in.findings.empty();
  if (in.model) {
    bad = bad || in.model->verdict != Verdict::Linearizable;
    for (const auto& v : in.model->violations) {
      prefix.insert(v.prefix.begin(), v.prefix.end());
      if (v.last < h.ops.size()) last.insert(v.last);
      json ops = json::array();
      if (v.last < h.ops.size()) ops.push_back(v.last);
      for (std::size_t i : v.ops)
        if (i < h.ops.size() && i != v.last) ops.push_back(i);
      findings.push_back({{"kind", v.kind + (v.key.empty() ? "" : " on " + v.key)},
                          {"message", violation_line(v)},
                          {"ops", ops}});
    }
  }

  json ops = json::array();
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const KvOp& op = h.ops[i];
    ops.push_back({{"lane", lane_of[i]},
                   {"kind", kv_kind_name(op.kind)},
                   {"outcome", kv_outcome_name(op.outcome)},
                   {"call", op.call},
                   {"ret", op.outcome == KvOutcome::Info ? op.call : std::max(op.ret, op.call)},
                   {"text", describe_op(h, op)},
                   {"prefix", prefix.count(i) > 0},
                   {"last", last.count(i) > 0}});
  }
  json faults = json::array();
  for (const auto& f : in.faults) faults.push_back({{"label", f.label}, {"from", f.from}, {"to", f.to}});

  const json data = {{"title", in.title},
                     {"unit", h.time_unit},
                     {"start", start},
                     {"end", end},
                     {"summary", summary},
                     {"bad", bad},
                     {"report", in.model ? in.model->report() : ""},
                     {"lanes", lanes},
                     {"ops", ops},
                     {"faults", faults},
                     {"findings", findings}};
  std::string page = kHead;
  page += html_text(in.title);
  page += kStyle;
  page += script_safe(data.dump(-1, ' ', false, json::error_handler_t::replace));
  page += kScript;
  return page;
}

}  // namespace dcslab
