// `dcslab image build | list`: the node images (lab/image.h).
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kImageHelp;
int cmd_image(Context& ctx);

}  // namespace dcslab
