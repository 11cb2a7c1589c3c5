#include "providers/virtualbox/image_bootable.h"
#include "base/paths.h"

#include <fstream>
#include <sstream>

#include "base/process.h"

namespace dcslab {

namespace fs = std::filesystem;

fs::path bootable_disk_path(const Image& image) { return image.dir / "bootable.vdi"; }

Expected<fs::path> ensure_bootable_disk(const Image& image, Progress& progress,
                                        const fs::path& recipe_dir) {
  const fs::path out = bootable_disk_path(image);
  std::error_code ec;
  // The image folder is immutable once built (its name is its recipe's hash), so a
  // bootable disk beside it is current; the script writes it under a temporary name
  // and renames, so a present file is a complete one.
  if (fs::exists(out, ec)) return out;
  const fs::path recipe = recipe_dir.empty() ? dcslab::recipe_dir() : recipe_dir;
  const fs::path script = recipe / "build-bootable";
  if (!fs::exists(script, ec))
    return Failure::not_found("the bootable-disk recipe " + script.string() + " is missing");
  progress.phase("making " + image.suite + "'s bootable disk (GRUB + VDI, about 15 s): " +
                 out.string());
  auto r = run_process({script.string(), image.dir.string(), out.string()});
  if (!r) return r.error();
  const fs::path log = image.dir / "bootable.log";
  {
    std::ofstream l(log);
    l << r->output;
  }
  if (r->exit_status != 0) {
    std::istringstream in(r->output);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::string tail;
    for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i)
      tail += "\n  " + lines[i];
    return Failure::error(script.string() + " failed (exit " + std::to_string(r->exit_status) +
                          "); last lines of " + log.string() + ":" + tail);
  }
  if (!fs::exists(out, ec))
    return Failure::error(script.string() + " succeeded but wrote no " + out.string());
  progress.done("bootable disk ready: " + out.string());
  return out;
}

}  // namespace dcslab
