// A checked history as a picture: one self-contained HTML page, opened offline, that
// draws the history as a timeline.
//
//  - one lane per client (a dcslab writer is one client going through several members:
//    one lane per member it went through, "writer via dcs-01");
//  - each operation a bar from its call to its return, coloured by outcome (ok, fail);
//    an operation with no answer (info) runs faded to the end of the history, as it may
//    have taken effect at any time after its call;
//  - faults as shaded bands across every lane, labelled ("crash dcs-01");
//  - findings listed under the picture; each one's operations highlighted, and clicking
//    the finding scrolls to them; for a history that is not linearizable, the operations
//    of the failing prefix outlined and its last operation marked.
//
// The data is a JSON object inside the page and a short inline script draws it as SVG
// when the page opens: no network asset (the page's Content-Security-Policy allows none),
// no library. When it has drawn, the body carries data-drawn="yes" and data-lanes /
// data-ops with what it drew, which is what the browser test reads.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "check/kv_history.h"
#include "check/linearizability.h"

namespace dcslab {

// A fault over the history's time: [from, to] in the history's unit.
struct TimelineBand {
  std::string label;     // "crash dcs-01"
  double from = 0, to = 0;
};

// A finding some check made (not the linearizability checker's: those come with the
// result), with the operations it names (indices into KvHistory::ops).
struct TimelineFinding {
  std::string kind;      // "stale", "lost", ...
  std::string message;
  std::vector<std::size_t> ops;
};

struct TimelineInput {
  std::string title;                           // "writes-seed-w1", a file name
  std::vector<TimelineBand> faults;
  std::vector<TimelineFinding> findings;
  const LinearizabilityResult* model = nullptr;  // its verdict, violations and failing prefix
};

std::string timeline_html(const KvHistory& h, const TimelineInput& in);

// The lane an op is drawn in: its client, and the member when a client went through
// more than one ("writer via dcs-01").
std::vector<std::string> timeline_lanes(const KvHistory& h, std::vector<std::size_t>* lane_of);

}  // namespace dcslab
