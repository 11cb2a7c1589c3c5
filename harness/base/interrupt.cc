#include "base/interrupt.h"

namespace dcslab {

std::atomic<bool> g_interrupted{false};

}  // namespace dcslab
